// An independent client for authd's PAR (RFC 9126) and DPoP (RFC 9449): oauth4webapi
// (pinned by package-lock.json), run by tests/integration/test_interop_oauth4webapi.py.
//
//   node client.mjs start ISSUER CLIENT_ID REDIRECT_URI
//       discovery, a DPoP key pair, PKCE, PAR with a DPoP proof (the code is bound to the
//       key; retried once on use_dpop_nonce); prints {"authorize_url", "state"...} with
//       what `finish` needs (the private key as JWK) as one JSON line
//   node client.mjs finish < {"...start output...", "callback": "<redirect URL with code>"}
//       validates the authorization response (state, iss), redeems the code with DPoP
//       (retrying once on use_dpop_nonce), reads /userinfo with DPoP, refreshes with DPoP;
//       prints one JSON line with what each step returned.
// Everything is plain HTTP on loopback: allowInsecureRequests is set for that only.
import * as oauth from 'oauth4webapi'

const insecure = { [oauth.allowInsecureRequests]: true }

async function discover(issuer) {
  const url = new URL(issuer)
  const res = await oauth.discoveryRequest(url, { ...insecure, algorithm: 'oidc' })
  return oauth.processDiscoveryResponse(url, res)
}

function clientOf(id) {
  return { client_id: id, id_token_signed_response_alg: 'ES256' }
}

// Runs request() and process(), once more when the server asks for a DPoP nonce (§8): the
// DPoP handle has taken the nonce from the answer's DPoP-Nonce header. [result, retried]
async function withNonceRetry(request, process) {
  try {
    return [await process(await request()), false]
  } catch (err) {
    if (!oauth.isDPoPNonceError(err)) throw err
    return [await process(await request()), true]
  }
}

async function start([issuer, clientId, redirectUri]) {
  const as = await discover(issuer)
  const client = clientOf(clientId)
  const verifier = oauth.generateRandomCodeVerifier()
  const state = oauth.generateRandomState()
  const nonce = oauth.generateRandomNonce()
  const keys = await oauth.generateKeyPair('ES256', { extractable: true })
  const params = {
    redirect_uri: redirectUri,
    scope: 'openid profile',
    response_type: 'code',
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  }
  // a DPoP proof at /par binds the code to the key (RFC 9449 §10.1)
  const DPoP = oauth.DPoP(client, keys)
  const [par, parRetried] = await withNonceRetry(
    () => oauth.pushedAuthorizationRequest(as, client, oauth.None(), params, { ...insecure, DPoP }),
    (res) => oauth.processPushedAuthorizationResponse(as, client, res))
  const url = new URL(as.authorization_endpoint)
  url.searchParams.set('client_id', clientId)
  url.searchParams.set('request_uri', par.request_uri)
  return {
    authorize_url: url.href,
    expires_in: par.expires_in,
    par_retried: parRetried,
    state,
    nonce,
    verifier,
    redirect_uri: redirectUri,
    issuer,
    client_id: clientId,
    private_jwk: await crypto.subtle.exportKey('jwk', keys.privateKey),
    public_jwk: await crypto.subtle.exportKey('jwk', keys.publicKey),
  }
}

async function finish(s) {
  const as = await discover(s.issuer)
  const client = clientOf(s.client_id)
  const alg = { name: 'ECDSA', namedCurve: 'P-256' }
  const keyPair = {
    privateKey: await crypto.subtle.importKey('jwk', s.private_jwk, alg, false, ['sign']),
    publicKey: await crypto.subtle.importKey('jwk', s.public_jwk, alg, true, ['verify']),
  }
  const DPoP = oauth.DPoP(client, keyPair)
  const params = oauth.validateAuthResponse(as, client, new URL(s.callback), s.state)
  const [tokens, retried] = await withNonceRetry(
    () => oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, s.redirect_uri,
      s.verifier, { ...insecure, DPoP }),
    (res) => oauth.processAuthorizationCodeResponse(as, client, res, { expectedNonce: s.nonce }))
  const claims = oauth.getValidatedIdTokenClaims(tokens)
  const [info] = await withNonceRetry(
    () => oauth.userInfoRequest(as, client, tokens.access_token, { ...insecure, DPoP }),
    (res) => oauth.processUserInfoResponse(as, client, claims.sub, res))
  const [refreshed] = await withNonceRetry(
    () => oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token,
      { ...insecure, DPoP }),
    (res) => oauth.processRefreshTokenResponse(as, client, res))
  return {
    token_type: tokens.token_type,
    token_retried: retried,
    access_token: tokens.access_token,
    sub: claims.sub,
    userinfo: info,
    refresh_token_type: refreshed.token_type,
    refreshed_access_token: refreshed.access_token,
  }
}

async function readStdin() {
  let data = ''
  for await (const chunk of process.stdin) data += chunk
  return JSON.parse(data)
}

const [cmd, ...args] = process.argv.slice(2)
try {
  const out = cmd === 'start' ? await start(args) : await finish(await readStdin())
  process.stdout.write(JSON.stringify(out) + '\n')
} catch (err) {
  process.stderr.write(`${err.name}: ${err.message} ${JSON.stringify(err.cause ?? '')}\n`)
  process.exit(1)
}
