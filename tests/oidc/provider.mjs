// A real OpenID Connect provider for the console's single sign-on tests (node_modules/oidc-provider,
// pinned in package.json): `node provider.mjs CONFIG.json`. It prints one line, `listening URL`,
// once it serves; tests/oidc/server.py starts and stops it.
//
// CONFIG.json: {issuer, port, jwks: {keys: [private RSA JWK]}, clients: [oidc-provider client
// metadata], accounts: {sub: {email, email_verified, name, groups, password, disabled, claims}}}
// (`claims`, when given, are the account's claims exactly as written: e-mail lists, the string
// "false" as email_verified, a missing claim).
//
// Its own login page (not oidc-provider's devInteractions, which take any name and no password)
// checks the account's password and grants the scopes asked for. A disabled account is not found,
// and disabling it ends its sessions at the provider: a prompt=none request gets login_required.
// Test-only: POST /__test__/accounts/SUB with a JSON object changes that account (groups,
// disabled) while the provider runs.
import { readFileSync } from 'node:fs';
import http from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const accounts = config.accounts;

// The provider's storage, in memory, kept here so that disabling an account can end its sessions
// (as Keycloak or Okta do when an account is deactivated).
const stores = new Map();
class MemoryAdapter {
  constructor(model) {
    if (!stores.has(model)) stores.set(model, new Map());
    this.store = stores.get(model);
  }

  async upsert(id, payload) {
    this.store.set(id, payload);
  }

  async find(id) {
    return this.store.get(id);
  }

  async findByUid(uid) {
    return [...this.store.values()].find((payload) => payload.uid === uid);
  }

  async findByUserCode(userCode) {
    return [...this.store.values()].find((payload) => payload.userCode === userCode);
  }

  async consume(id) {
    const payload = this.store.get(id);
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    this.store.delete(id);
  }

  async revokeByGrantId(grantId) {
    for (const [id, payload] of this.store) if (payload.grantId === grantId) this.store.delete(id);
  }
}

function endSessionsOf(sub) {
  const sessions = stores.get('Session') || new Map();
  for (const [id, payload] of sessions) if (payload.accountId === sub) sessions.delete(id);
}

const provider = new Provider(config.issuer, {
  adapter: MemoryAdapter,
  clients: config.clients,
  jwks: config.jwks,
  cookies: { keys: ['anchor-console-sso-tests-only'] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    // Groups with the profile scope, as a Keycloak "groups" mapper adds them to the token.
    profile: ['name', 'groups'],
  },
  // Scope claims in the ID token too, as Keycloak and Entra ID put them.
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: { enabled: true },
  },
  pkce: { required: () => true },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    const account = accounts[sub];
    if (!account || account.disabled) return undefined;
    return {
      accountId: sub,
      async claims() {
        // An account with `claims` has exactly those (any JSON shape: the hostile cases).
        if (account.claims) return { ...account.claims, sub };
        const { email, email_verified: verified = true, name = sub, groups = [] } = account;
        return { sub, email, email_verified: verified, name, groups };
      },
    };
  },
});

// Its errors go to the log file the fixture keeps (stderr).
for (const event of ['server_error', 'end_session.error', 'authorization.error', 'grant.error']) {
  provider.on(event, (ctx, error) => console.error(event, error, error.cause || ''));
}

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(uid, clientId, error) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Test identity provider: sign in</title>
<style>body{font:16px sans-serif;max-width:24rem;margin:4rem auto}label,input,button{display:block;width:100%;margin:.4rem 0}
input{padding:.4rem}button{padding:.5rem;background:#264b5d;color:#fff;border:0}.error{color:#b00}</style></head>
<body><h1>Test identity provider</h1><p>Sign in to continue to <strong>${escape(clientId)}</strong>.</p>
${error ? `<p class="error" role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}">
<label for="login">E-mail or account id</label><input id="login" name="login" autocomplete="username" autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password">
<button type="submit">Sign in</button></form></body></html>`;
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function accountFor(login) {
  if (accounts[login]) return login;
  return Object.keys(accounts).find((sub) => accounts[sub].email === login);
}

async function interaction(req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(loginPage(uid, details.params.client_id));
    return;
  }
  const form = new URLSearchParams(await readBody(req));
  const sub = accountFor(form.get('login') || '');
  const account = sub && accounts[sub];
  if (!account || account.disabled || account.password !== form.get('password')) {
    res.writeHead(401, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(loginPage(uid, details.params.client_id, 'Wrong e-mail or password.'));
    return;
  }
  const grant = new provider.Grant({ accountId: sub, clientId: details.params.client_id });
  grant.addOIDCScope(details.params.scope);
  const grantId = await grant.save();
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId: sub }, consent: { grantId } },
    { mergeWithLastSubmission: false },
  );
}

const callback = provider.callback();
const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, config.issuer);
  try {
    const interactionMatch = url.pathname.match(/^\/interaction\/([\w-]+)$/);
    if (interactionMatch) {
      await interaction(req, res, interactionMatch[1]);
      return;
    }
    const testMatch = url.pathname.match(/^\/__test__\/accounts\/([^/]+)$/);
    if (testMatch && req.method === 'POST') {
      const sub = decodeURIComponent(testMatch[1]);
      accounts[sub] = { ...accounts[sub], ...JSON.parse(await readBody(req)) };
      if (accounts[sub].disabled) endSessionsOf(sub);
      res.writeHead(204);
      res.end();
      return;
    }
    callback(req, res);
  } catch (error) {
    res.writeHead(400, { 'content-type': 'text/plain' });
    res.end(`${error.name}: ${error.message}`);
  }
});

server.listen(config.port, '127.0.0.1', () => {
  process.stdout.write(`listening ${config.issuer}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
