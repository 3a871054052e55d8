// A hotline console as an independent OpenID CIBA client, poll mode (oauth4webapi 3.x):
// discovery, the backchannel authentication request, then polls of /token until tokens or
// an error. One JSON line per event on stdout; driven by tests/integration/test_ciba.py.
//   node ciba.mjs ISSUER CLIENT_ID CLIENT_SECRET LOGIN_HINT SCOPE BINDING_MESSAGE
import * as oauth from 'oauth4webapi'

const [issuer, clientId, secret, loginHint, scope, bindingMessage] = process.argv.slice(2)
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n')
const sleep = (s) => new Promise((r) => setTimeout(r, s * 1000))
const insecure = { [oauth.allowInsecureRequests]: true } // loopback http in the test

const url = new URL(issuer)
const as = await oauth.processDiscoveryResponse(url, await oauth.discoveryRequest(url, insecure))
const client = { client_id: clientId, id_token_signed_response_alg: 'ES256' }
const auth = oauth.ClientSecretBasic(secret)

const params = { scope, login_hint: loginHint, binding_message: bindingMessage }
const start = await oauth.processBackchannelAuthenticationResponse(
  as, client,
  await oauth.backchannelAuthenticationRequest(as, client, auth, params, insecure))
out({ event: 'start', expires_in: start.expires_in, interval: start.interval })

let interval = start.interval ?? 5
const seen = []
for (;;) {
  await sleep(interval)
  try {
    const tok = await oauth.processBackchannelAuthenticationGrantResponse(
      as, client,
      await oauth.backchannelAuthenticationGrantRequest(as, client, auth, start.auth_req_id,
                                                        insecure))
    const claims = tok.id_token ? oauth.getValidatedIdTokenClaims(tok) : null
    out({ event: 'token', seen, token_type: tok.token_type, scope: tok.scope,
          has_refresh: !!tok.refresh_token, claims })
    break
  } catch (e) {
    if (e instanceof oauth.ResponseBodyError && e.error === 'authorization_pending') {
      seen.push(e.error)
      continue
    }
    if (e instanceof oauth.ResponseBodyError && e.error === 'slow_down') {
      seen.push(e.error)
      interval += 5 // CIBA Core §11, RFC 8628 §3.5
      continue
    }
    out({ event: 'error', seen, error: e.error ?? String(e) })
    break
  }
}
