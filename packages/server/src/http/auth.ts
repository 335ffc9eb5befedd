/**
 * Accounts over HTTP (PROTOCOL §3): register, login, refresh, logout, me; and the Bearer guard.
 * Register, login and refresh count against the client IP's budget first of all (PROTOCOL §2). The
 * client IP is Fastify's `request.ip`: the socket's peer unless TRUST_PROXY names the proxy.
 */
import { LoginInput, LogoutInput, RefreshInput, RegisterInput } from '@switchboard/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuthService, Principal } from '../domain/auth.js';
import { unauthenticated } from '../domain/errors.js';
import { parse } from './errors.js';
import { docs, jsonSchema } from './openapi.js';

const authSchemas = {
  register: {
    tags: ['auth'],
    summary: 'Create an account',
    description:
      'The first account of a fresh database is `admin`. The answer is also a new login. With `inviteCode`, ' +
      'registration works even when closed, and the account joins the invite\'s room.',
    body: jsonSchema(RegisterInput),
    response: {
      201: docs.session('Created and logged in'),
      ...docs.errors({
        400: 'invalid input, or a password that is too common or contains the username',
        403: 'registration is closed (and no invite given), or the invite is unknown, used up or expired',
        409: 'username taken',
        429: 'too many registrations from this IP',
        503: 'too many password checks waiting',
      }),
    },
  },
  login: {
    tags: ['auth'],
    summary: 'Log in',
    body: jsonSchema(LoginInput),
    response: {
      200: docs.session('A new login'),
      ...docs.errors({
        400: 'invalid input',
        401: 'wrong username or password',
        429: 'too many failed logins for this username from this IP, or too many logins from this IP',
        503: 'too many password checks waiting',
      }),
    },
  },
  refresh: {
    tags: ['auth'],
    summary: 'Rotate the refresh token',
    description: 'The presented refresh token is spent; presenting a spent one ends its whole login.',
    body: jsonSchema(RefreshInput),
    response: {
      200: docs.session('New access and refresh tokens'),
      ...docs.errors({
        400: 'invalid input',
        401: 'spent, unknown or expired refresh token',
        429: 'too many logins and refreshes from this IP',
      }),
    },
  },
  logout: {
    tags: ['auth'],
    summary: 'End a login',
    body: jsonSchema(LogoutInput),
    response: { 204: docs.noContent('The login has ended'), ...docs.errors({ 400: 'invalid input' }) },
  },
  me: {
    tags: ['auth'],
    summary: 'The signed-in user',
    security: docs.bearer,
    response: { 200: docs.user('The user of the access token'), ...docs.errors({ 401: 'no valid access token' }) },
  },
};

/** The principal of a request's `Authorization: Bearer` access token; `UNAUTHENTICATED` otherwise. */
export async function requireUser(auth: AuthService, req: FastifyRequest): Promise<Principal> {
  const header = req.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  if (!match?.[1]) throw unauthenticated('missing bearer token');
  return auth.verify(match[1]);
}

export function authRoutes(app: FastifyInstance, auth: AuthService): void {
  app.post('/api/auth/register', { schema: authSchemas.register }, async (req, reply) => {
    await auth.admit(req.ip, 'register');
    const session = await auth.register(parse(RegisterInput, req.body), req.ip);
    return reply.status(201).send(session);
  });
  app.post('/api/auth/login', { schema: authSchemas.login }, async (req) => {
    await auth.admit(req.ip, 'login');
    return auth.login(parse(LoginInput, req.body), req.ip);
  });
  app.post('/api/auth/refresh', { schema: authSchemas.refresh }, async (req) => {
    await auth.admit(req.ip, 'refresh');
    return auth.refresh(parse(RefreshInput, req.body).refreshToken);
  });
  app.post('/api/auth/logout', { schema: authSchemas.logout }, async (req, reply) => {
    await auth.logout(parse(LogoutInput, req.body).refreshToken);
    return reply.status(204).send();
  });
  app.get('/api/me', { schema: authSchemas.me }, async (req) => {
    const principal = await requireUser(auth, req);
    return { user: await auth.me(principal.userId) };
  });
}
