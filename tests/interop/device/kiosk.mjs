// A kiosk as an independent RFC 8628 client (oauth4webapi 3.x): discovery, the device
// authorization request, then polls of /token until tokens or an error. One JSON line per
// event on stdout; driven by tests/integration/test_device.py.
//   node kiosk.mjs ISSUER CLIENT_ID SCOPE
import * as oauth from 'oauth4webapi'

const [issuer, clientId, scope] = process.argv.slice(2)
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n')
const sleep = (s) => new Promise((r) => setTimeout(r, s * 1000))
const insecure = { [oauth.allowInsecureRequests]: true } // loopback http in the test

const url = new URL(issuer)
const as = await oauth.processDiscoveryResponse(url, await oauth.discoveryRequest(url, insecure))
const client = { client_id: clientId, id_token_signed_response_alg: 'ES256' }
const auth = oauth.None()

const start = await oauth.processDeviceAuthorizationResponse(
  as, client,
  await oauth.deviceAuthorizationRequest(as, client, auth, { scope }, insecure))
out({ event: 'start', user_code: start.user_code, verification_uri: start.verification_uri,
      verification_uri_complete: start.verification_uri_complete,
      expires_in: start.expires_in, interval: start.interval })

let interval = start.interval ?? 5
const seen = []
for (;;) {
  await sleep(interval)
  try {
    const tok = await oauth.processDeviceCodeResponse(
      as, client,
      await oauth.deviceCodeGrantRequest(as, client, auth, start.device_code, insecure))
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
      interval += 5 // RFC 8628 §3.5
      continue
    }
    out({ event: 'error', seen, error: e.error ?? String(e) })
    break
  }
}
