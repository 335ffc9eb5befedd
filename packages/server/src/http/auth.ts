/** Accounts over HTTP (PROTOCOL §3): register, login, refresh, logout, me; and the Bearer guard. */
import { LoginInput, LogoutInput, RefreshInput, RegisterInput } from '@switchboard/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuthService, Principal } from '../domain/auth.js';
import { unauthenticated } from '../domain/errors.js';
import { parse } from './errors.js';

/** The principal of a request's `Authorization: Bearer` access token; `UNAUTHENTICATED` otherwise. */
export async function requireUser(auth: AuthService, req: FastifyRequest): Promise<Principal> {
  const header = req.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  if (!match?.[1]) throw unauthenticated('missing bearer token');
  return auth.verify(match[1]);
}

export function authRoutes(app: FastifyInstance, auth: AuthService): void {
  app.post('/api/auth/register', async (req, reply) => {
    const session = await auth.register(parse(RegisterInput, req.body));
    return reply.status(201).send(session);
  });
  app.post('/api/auth/login', async (req) => auth.login(parse(LoginInput, req.body), req.ip));
  app.post('/api/auth/refresh', async (req) => auth.refresh(parse(RefreshInput, req.body).refreshToken));
  app.post('/api/auth/logout', async (req, reply) => {
    await auth.logout(parse(LogoutInput, req.body).refreshToken);
    return reply.status(204).send();
  });
  app.get('/api/me', async (req) => {
    const principal = await requireUser(auth, req);
    return { user: await auth.me(principal.userId) };
  });
}
