/* flow/claims: scope words, and exactly which user claims a scope releases to a client
 * (OIDC Core §5.1, §5.4), id_number only with the scope, the scope's policy and the
 * client's permission. Pure: a policy parsed from text and an account in memory. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/authz.h"
#include "conf/policy.h"
#include "flow/claims.h"
#include "test.h"

static const char policy_text[] =
    "[scope openid]\nclaims = sub\n"
    "[scope profile]\nclaims = name birthdate gender nickname\n"
    "[scope phone]\nclaims = phone_number phone_number_verified\n"
    "[scope id_number]\nclaims = id_number\n"
    "[client allowed]\ntype = public\nauth_method = none\nredirect_uris = https://a.example/cb\n"
    "scopes = openid profile phone id_number\nid_number_allowed = true\n"
    "[client plain]\ntype = public\nauth_method = none\nredirect_uris = https://p.example/cb\n"
    "scopes = openid profile id_number\n"
    "[client narrow]\ntype = public\nauth_method = none\nredirect_uris = https://n.example/cb\n"
    "scopes = openid\n";

static struct account
citizen(void)
{
    struct account ac = {.name = "张三", .phone = "13800000001", .birth_ymd = 19900307, .sex = 'M'};

    memcpy(ac.id_number, "11010519900307123X", 19);
    return ac;
}

/* The claims scope releases to client_id as compact JSON text in out. */
static void
claims_of(const char *client_id, const char *scope, const struct account *ac, char *out, size_t n,
          bool *idn)
{
    struct config_error err = {0};
    struct policy *p = NULL;
    json_t *o = json_object();
    char *s;

    out[0] = 0;
    if (policy_parse("t.conf", policy_text, strlen(policy_text), &p, &err) != RC_OK || !o)
        return;
    if (claims_add_user(o, p, policy_client(p, span_str(client_id)), span_str(scope), ac, idn)
            == RC_OK
        && (s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS))) {
        snprintf(out, n, "%s", s);
        free(s);
    }
    json_decref(o);
    policy_release(p);
}

/* Scope lists are read by core/authz alone (flow/claims had its own copy). */
TEST(claims_scope_lists_match_whole_words_only)
{
    CHECK(authz_list_has(SPAN("openid profile"), "openid"));
    CHECK(authz_list_has(SPAN("openid profile"), "profile"));
    CHECK(authz_list_has(SPAN("a  profile "), "profile"));
    CHECK(!authz_list_has(SPAN("openid profile"), "open"));
    CHECK(!authz_list_has(SPAN("openid profile"), "profiles"));
    CHECK(!authz_list_has(SPAN("openidprofile"), "openid"));
    CHECK(!authz_list_has(SPAN(""), "openid"));
    CHECK(!authz_list_has(span_of("openid", 4), "openid")); /* the span's length, not a NUL */
}

TEST(claims_scope_lists_narrow_never_widen)
{
    CHECK(authz_scopes_covered(SPAN("openid"), SPAN("openid profile")));
    CHECK(authz_scopes_covered(SPAN("profile openid"), SPAN("openid profile")));
    CHECK(authz_scopes_covered(SPAN(""), SPAN("openid")));
    CHECK(authz_scopes_covered(SPAN(" openid  "), SPAN("openid"))); /* empty words are no words */
    CHECK(!authz_scopes_covered(SPAN("openid phone"), SPAN("openid profile")));
    CHECK(!authz_scopes_covered(SPAN("open"), SPAN("openid")));
    CHECK(!authz_scopes_covered(SPAN("openid"), SPAN("")));
}

TEST(claims_profile_and_phone_release_the_mapped_fields)
{
    struct account ac = citizen();
    char out[512];
    bool idn = true;

    claims_of("allowed", "openid profile phone", &ac, out, sizeof(out), &idn);
    CHECK_STR(out, "{\"birthdate\":\"1990-03-07\",\"gender\":\"male\",\"name\":\"张三\","
                   "\"phone_number\":\"+8613800000001\",\"phone_number_verified\":false}");
    CHECK(!idn);
    ac.sex = 'F';
    ac.phone = "+85291234567"; /* already E.164: kept */
    claims_of("allowed", "phone profile", &ac, out, sizeof(out), &idn);
    CHECK_STR(out, "{\"birthdate\":\"1990-03-07\",\"gender\":\"female\",\"name\":\"张三\","
                   "\"phone_number\":\"+85291234567\",\"phone_number_verified\":false}");
    /* empty or unknown values are left out, never sent empty */
    ac.name = "";
    ac.phone = "";
    ac.sex = 'X';
    ac.birth_ymd = 0;
    claims_of("allowed", "openid profile phone", &ac, out, sizeof(out), &idn);
    CHECK_STR(out, "{}");
}

TEST(claims_only_for_scopes_asked_and_registered)
{
    struct account ac = citizen();
    char out[512];
    bool idn;

    claims_of("allowed", "openid", &ac, out, sizeof(out), &idn); /* sub is the caller's */
    CHECK_STR(out, "{}");
    claims_of("narrow", "openid profile phone", &ac, out, sizeof(out), &idn);
    CHECK_STR(out, "{}");
    claims_of("plain", "openid phone", &ac, out, sizeof(out), &idn);
    CHECK_STR(out, "{}");
}

TEST(claims_id_number_needs_scope_policy_and_permission)
{
    struct account ac = citizen();
    char out[512];
    bool idn = false;

    claims_of("allowed", "openid id_number", &ac, out, sizeof(out), &idn);
    CHECK_STR(out, "{\"id_number\":\"11010519900307123X\"}");
    CHECK(idn);
    /* the client may not have it, even when it asks for the scope it is registered for */
    claims_of("plain", "openid id_number", &ac, out, sizeof(out), &idn);
    CHECK_STR(out, "{}");
    CHECK(!idn);
    /* not asked: not released */
    claims_of("allowed", "openid profile", &ac, out, sizeof(out), &idn);
    CHECK(strstr(out, "id_number") == NULL);
    CHECK(!idn);
    /* no number on file */
    ac.id_number[0] = 0;
    claims_of("allowed", "id_number", &ac, out, sizeof(out), &idn);
    CHECK_STR(out, "{}");
    CHECK(!idn);
}
