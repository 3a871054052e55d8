/* flow/dpop: the replay cache in the memory store and the stateless nonces, with the fake
 * clock (fakes.h) and proofs signed by dpop_sign.h. */
#include <stdio.h>
#include <string.h>

#include "dpop_sign.h"
#include "fakes.h"
#include "flow/dpop.h"
#include "log/log.h"
#include "test.h"

#define NOW 1740787200
#define HTU "https://id.example/token"

static const char policy_text[] = "[scope openid]\nclaims = sub\n";

static struct fake_app F;

static const char *
proof_at(const char *jti, long long iat, const char *nonce)
{
    char c[512];

    snprintf(c, sizeof(c), "{\"jti\":\"%s\",\"htm\":\"POST\",\"htu\":\"%s\",\"iat\":%lld%s%s%s}",
             jti, HTU, iat, nonce ? ",\"nonce\":\"" : "", nonce ? nonce : "", nonce ? "\"" : "");
    return sign_with(key_json(false), "dpop+jwt", "ES256", NULL, c);
}

static enum rc
check(const char *proof, bool nonce, struct rc_info *ri)
{
    struct dpop_call c = {span_str(proof), "POST", HTU, {NULL, 0}, nonce};
    struct dpop_proof out;

    memset(ri, 0, sizeof(*ri));
    return dpop_check(&F.app, &F.a, F.p, &c, &out, ri);
}

TEST(dpop_flow_a_proof_is_used_once)
{
    struct rc_info ri;

    log_setup(LOG_ERROR, 2);
    REQUIRE(fake_app_up(&F, policy_text, NOW) == 0);
    F.cfg.dpop_iat_window_s = 60;
    CHECK_RC(check(proof_at("j1", NOW, NULL), false, &ri), RC_OK);
    CHECK_RC(check(proof_at("j1", NOW, NULL), false, &ri), RC_DENIED); /* same key, same jti */
    CHECK(ri.why == RC_WHY_DPOP_PROOF);
    CHECK_RC(check(proof_at("j2", NOW, NULL), false, &ri), RC_OK);
    CHECK_RC(check("", false, &ri), RC_MALFORMED);
    fake_app_down(&F);
}

TEST(dpop_flow_nonces_are_ours_and_last_two_slots)
{
    struct rc_info ri;
    char nonce[64];
    const char *n;

    log_setup(LOG_ERROR, 2);
    REQUIRE(fake_app_up(&F, policy_text, NOW) == 0);
    F.cfg.dpop_iat_window_s = 600;
    REQUIRE((n = dpop_nonce(&F.app, &F.a)) && strlen(n) < sizeof(nonce));
    snprintf(nonce, sizeof(nonce), "%s", n);
    CHECK_RC(check(proof_at("n0", NOW, NULL), true, &ri), RC_DENIED);
    CHECK(ri.why == RC_WHY_DPOP_NONCE);
    CHECK_RC(check(proof_at("n1", NOW, nonce), true, &ri), RC_OK);
    CHECK_RC(check(proof_at("n2", NOW, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), true, &ri), RC_DENIED);
    CHECK(ri.why == RC_WHY_DPOP_NONCE);
    fake_now = NOW + DPOP_NONCE_PERIOD; /* the next slot: still good */
    CHECK_RC(check(proof_at("n3", fake_now, nonce), true, &ri), RC_OK);
    fake_now = NOW + 2 * DPOP_NONCE_PERIOD; /* two slots on: stale */
    CHECK_RC(check(proof_at("n4", fake_now, nonce), true, &ri), RC_DENIED);
    CHECK(ri.why == RC_WHY_DPOP_NONCE);
    fake_app_down(&F);
}
