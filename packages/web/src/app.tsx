/** The top of the component tree: the sign-in screen, or the workspace of the signed-in user. */
import type { AppModel } from './app-model.js';
import { AuthScreen } from './auth-screen.js';
import { inviteCodeInAddress } from './router.js';
import { StoreContext, useAuth } from './use-store.js';
import { Workspace } from './workspace.js';

export function App({ model }: { model: AppModel }) {
  const auth = useAuth(model);
  if (auth.status === 'signed-out') return <AuthScreen model={model} notice={auth.notice} inviteCode={inviteCodeInAddress()} />;
  return (
    <StoreContext.Provider value={auth.store}>
      <Workspace
        key={auth.store.state.me.id}
        user={auth.user}
        onSignOut={() => void model.signOut()}
        onUserChanged={(user) => model.userChanged(user)}
      />
    </StoreContext.Provider>
  );
}
