import { v7 as uuidv7 } from 'uuid';
import { idOf, streamIdOf } from '../../schemas/events/index.js';
import { generateApiKey } from '../auth/api-key.js';
import type { ApiDependencies } from '../dependencies.js';
import { outwardState } from '../disclosure.js';
import { notFound } from '../http/problem.js';
import { route } from '../http/route.js';
import {
  CommandAccepted,
  GrantRoleBody,
  IssueApiKeyBody,
  IssuedApiKey,
  ReadModelObject,
  RegisterUserBody,
  UserKeyParams,
  UserParams,
  UserRoleParams,
} from '../schemas.js';
import { commandContext, commandReply, etag, readerOf } from './helpers.js';

export const userRoutes = (deps: ApiDependencies) => [
  route({
    method: 'post',
    path: '/v1/users',
    operationId: 'registerUser',
    summary: 'Register a user (roles and API keys are granted separately)',
    tag: 'users',
    permission: 'users:manage',
    body: { kind: 'json', schema: RegisterUserBody },
    responses: {
      201: { description: 'UserRegistered recorded', schema: CommandAccepted },
      409: { description: 'Exists' },
    },
    handle: async (input) => {
      const userId = input.body.userId ?? uuidv7();
      const result = await deps.commands.registerUser(
        { userId, email: input.body.email, displayName: input.body.displayName, roles: input.body.roles },
        commandContext(input),
      );
      const recordedId = idOf(result.streamId);
      return commandReply(result, { status: 201, location: `/v1/users/${recordedId}`, body: { userId: recordedId } });
    },
  }),
  route({
    method: 'get',
    path: '/v1/users/:userId',
    operationId: 'getUser',
    summary: 'A user with roles and API key ids (never secrets)',
    tag: 'users',
    permission: 'users:read',
    params: UserParams,
    responses: { 200: { description: 'The user', schema: ReadModelObject }, 404: { description: 'No such user' } },
    handle: async (input) => {
      const streamId = streamIdOf('user', input.params.userId);
      const user = await deps.history.load(streamId);
      const state = user?.state as { status: string } | undefined;
      if (!user || !state || state.status === 'absent') throw notFound(`user ${input.params.userId} not found`);
      // Key ids, labels and expiry: the secrets' hashes are restricted fields (rbac.ts) and stay out.
      return {
        status: 200,
        headers: { ETag: etag(user.streamVersion) },
        body: outwardState(readerOf(input), streamId, state),
      };
    },
  }),
  route({
    method: 'post',
    path: '/v1/users/:userId/roles',
    operationId: 'grantRole',
    summary: 'Grant a role',
    tag: 'users',
    permission: 'users:manage',
    conditional: true,
    params: UserParams,
    body: { kind: 'json', schema: GrantRoleBody },
    responses: { 200: { description: 'RoleGranted recorded', schema: CommandAccepted } },
    handle: async (input) =>
      commandReply(
        await deps.commands.grantRole({ userId: input.params.userId, role: input.body.role }, commandContext(input)),
      ),
  }),
  route({
    method: 'delete',
    path: '/v1/users/:userId/roles/:role',
    operationId: 'revokeRole',
    summary: 'Revoke a role (access tokens that claim it stop within a second)',
    tag: 'users',
    permission: 'users:manage',
    conditional: true,
    params: UserRoleParams,
    responses: { 200: { description: 'RoleRevoked recorded', schema: CommandAccepted } },
    handle: async (input) => commandReply(await deps.commands.revokeRole(input.params, commandContext(input))),
  }),
  route({
    method: 'post',
    path: '/v1/users/:userId/api-keys',
    operationId: 'issueApiKey',
    summary: 'Issue an API key; the key is in this response only, the record keeps its sha256',
    tag: 'users',
    permission: 'users:manage',
    // The response holds the key: it is never stored, so Idempotency-Key is not honoured here.
    idempotent: false,
    params: UserParams,
    body: { kind: 'json', schema: IssueApiKeyBody },
    responses: { 201: { description: 'ApiKeyIssued recorded', schema: IssuedApiKey } },
    handle: async (input) => {
      const key = generateApiKey();
      const result = await deps.commands.issueApiKey(
        {
          userId: input.params.userId,
          keyId: key.keyId,
          secret: key.secret,
          label: input.body.label,
          expiresAt: input.body.expiresAt,
        },
        commandContext(input),
      );
      return {
        status: 201,
        headers: { ETag: `"${result.nextExpectedVersion}"` },
        body: {
          keyId: key.keyId,
          apiKey: key.token,
          expiresAt: input.body.expiresAt,
          streamVersion: result.nextExpectedVersion,
        },
      };
    },
  }),
  route({
    method: 'delete',
    path: '/v1/users/:userId/api-keys/:keyId',
    operationId: 'revokeApiKey',
    summary: 'Revoke an API key (refreshes stop at once, its access tokens within a second)',
    tag: 'users',
    permission: 'users:manage',
    params: UserKeyParams,
    responses: { 200: { description: 'ApiKeyRevoked recorded', schema: CommandAccepted } },
    handle: async (input) => commandReply(await deps.commands.revokeApiKey(input.params, commandContext(input))),
  }),
];
