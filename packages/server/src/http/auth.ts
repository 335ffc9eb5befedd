/** Accounts over HTTP (PROTOCOL §3): register, login, refresh, logout, me; and the Bearer guard. */
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
    description: 'The first account of a fresh database is `admin`. The answer is also a new login.',
    body: jsonSchema(RegisterInput),
    response: {
      201: docs.session('Created and logged in'),
      ...docs.errors({ 400: 'invalid input', 403: 'registration is closed', 409: 'username taken' }),
    },
  },
  login: {
    tags: ['auth'],
    summary: 'Log in',
    body: jsonSchema(LoginInput),
    response: {
      200: docs.session('A new login'),
      ...docs.errors({ 400: 'invalid input', 401: 'wrong username or password', 429: 'too many failed logins' }),
    },
  },
  refresh: {
    tags: ['auth'],
    summary: 'Rotate the refresh token',
    description: 'The presented refresh token is spent; presenting a spent one ends its whole login.',
    body: jsonSchema(RefreshInput),
    response: {
      200: docs.session('New access and refresh tokens'),
      ...docs.errors({ 400: 'invalid input', 401: 'spent, unknown or expired refresh token' }),
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
    const session = await auth.register(parse(RegisterInput, req.body));
    return reply.status(201).send(session);
  });
  app.post('/api/auth/login', { schema: authSchemas.login }, async (req) => auth.login(parse(LoginInput, req.body), req.ip));
  app.post('/api/auth/refresh', { schema: authSchemas.refresh }, async (req) => auth.refresh(parse(RefreshInput, req.body).refreshToken));
  app.post('/api/auth/logout', { schema: authSchemas.logout }, async (req, reply) => {
    await auth.logout(parse(LogoutInput, req.body).refreshToken);
    return reply.status(204).send();
  });
  app.get('/api/me', { schema: authSchemas.me }, async (req) => {
    const principal = await requireUser(auth, req);
    return { user: await auth.me(principal.userId) };
  });
}
