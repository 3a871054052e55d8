/* conf/config: the defaults every key gets, derived values (issuer, listen host and port,
 * paths under state_dir), relative paths, each refusal with its file:line message, and
 * config_print masking passwords in URLs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/config.h"
#include "test.h"

static enum rc
parse(const char *text, struct config **c, struct config_error *err)
{
    *c = NULL;
    memset(err, 0, sizeof(*err));
    return config_parse("t.conf", text, strlen(text), "/etc/authd", c, err);
}

/* config_print of c into out. */
static void
print(const struct config *c, char *out, size_t n)
{
    FILE *f = fmemopen(out, n, "w");

    out[0] = 0;
    if (!f)
        return;
    config_print(c, f);
    fclose(f);
}

TEST(config_defaults_and_derived_values)
{
    struct config *c;
    struct config_error err;

    REQUIRE(parse("", &c, &err) == RC_OK);
    CHECK_STR(c->listen, "127.0.0.1:8080");
    CHECK_STR(c->listen_host, "127.0.0.1");
    CHECK_INT(c->listen_port, 8080);
    CHECK_STR(c->issuer, "http://127.0.0.1:8080");
    CHECK_STR(c->metrics_host, "127.0.0.1");
    CHECK_INT(c->metrics_port, 9464);
    CHECK_STR(c->store, "memory:");
    CHECK_STR(c->state_dir, "/var/lib/authd");
    CHECK_STR(c->keys_dir, "/var/lib/authd/keys");
    CHECK_STR(c->policy_dir, "/var/lib/authd/policy");
    CHECK_STR(c->popbase, "file:/var/lib/authd/population.idx");
    CHECK_STR(c->popbase_name_key, "/var/lib/authd/popbase.key");
    CHECK(c->notify == NULL && c->tls_cert == NULL && c->log_file == NULL);
    CHECK_INT(c->log_level, LOG_INFO);
    CHECK_INT(c->max_body_bytes, 65536);
    CHECK_INT(c->max_token_families_per_account, 50);
    CHECK_INT(c->backchannel_give_up_s, 86400);
    CHECK(!c->allow_insecure_http);
    CHECK_STR(c->path, "t.conf");
    config_free(c);
}

TEST(config_values_paths_and_tls)
{
    struct config *c;
    struct config_error err;

    REQUIRE(parse("# a comment\nstate_dir = state\nkeys_dir = /k\nthreads = 256\n"
                  "allow_insecure_http = yes\nlisten = 0.0.0.0:443\nmetrics_listen = off\n"
                  "log_level = debug\ntls_cert = c.pem\ntls_key = k.pem\n"
                  "store = redis://10.0.0.5:6379/0\n",
                  &c, &err)
            == RC_OK);
    CHECK_STR(c->state_dir, "/etc/authd/state"); /* relative to the file's directory */
    CHECK_STR(c->keys_dir, "/k");
    CHECK_STR(c->policy_dir, "/etc/authd/state/policy");
    CHECK_STR(c->tls_cert, "/etc/authd/c.pem");
    CHECK_INT(c->threads, 256);
    CHECK(c->allow_insecure_http);
    CHECK(c->metrics_host == NULL);
    CHECK_INT(c->log_level, LOG_DEBUG);
    CHECK_STR(c->issuer, "https://0.0.0.0:443"); /* TLS: https */
    CHECK_STR(c->store, "redis://10.0.0.5:6379/0");
    config_free(c);
    REQUIRE(parse("listen = [::1]:9000\nmetrics_listen = [::1]:9001\nallow_insecure_http = 0\n", &c,
                  &err)
            == RC_OK);
    CHECK_STR(c->listen_host, "::1");
    CHECK_STR(c->issuer, "http://[::1]:9000");
    CHECK_INT(c->metrics_port, 9001);
    config_free(c);
    REQUIRE(parse("issuer = https://id.example/realm\n", &c, &err) == RC_OK);
    CHECK_STR(c->issuer, "https://id.example/realm"); /* set: not derived */
    config_free(c);
}

TEST(config_refusals_say_file_line_and_key)
{
    static const struct {
        const char *text, *err;
        enum rc rc;
    } bad[] = {
        {"bogus = 1\n", "t.conf:1: bogus: unknown key", RC_MALFORMED},
        {"threads = 1\n\nthreads = 2\n", "t.conf:3: threads: set twice (first on line 1)",
         RC_MALFORMED},
        {"threads = 257\n", "t.conf:1: threads: must be a whole number in range 0-256",
         RC_MALFORMED},
        {"max_body_bytes = 1023\n", "t.conf:1: max_body_bytes: must be a whole number in range",
         RC_MALFORMED},
        {"threads = -1\n", "t.conf:1: threads: must be a whole number", RC_MALFORMED},
        {"allow_insecure_http = maybe\n", "t.conf:1: allow_insecure_http: must be true or false",
         RC_MALFORMED},
        {"log_level = loud\n", "t.conf:1: log_level: must be debug, info, warn or error",
         RC_MALFORMED},
        {"[section]\n", "t.conf:1: -: the config file has no sections", RC_MALFORMED},
        {"issuer = https://id.example/\n", "t.conf:1: issuer: must not end with '/'", RC_MALFORMED},
        {"issuer = https://id.example?x=1\n", "t.conf:1: issuer: must not have a query",
         RC_MALFORMED},
        {"issuer = ftp://id.example\n", "t.conf:1: issuer: must be an http:// or https:// URL",
         RC_MALFORMED},
        {"store = mongodb://x\n", "t.conf:1: store: must be memory:", RC_MALFORMED},
        {"popbase = http://pop.example\n", "t.conf:1: popbase: must be file:PATH or an https://",
         RC_MALFORMED},
        {"notify = file:relative\n", "t.conf:1: notify: must be file:/ABSOLUTE/PATH", RC_MALFORMED},
        {"listen = 127.0.0.1\n", "t.conf:1: listen: expected address:port", RC_MALFORMED},
        {"listen = 127.0.0.1:0\n", "t.conf:1: listen: port must be 1-65535", RC_MALFORMED},
        {"listen = example.org:80\n", "t.conf:1: listen: address must be an IP address",
         RC_MALFORMED},
        {"listen = [::1]8080\n", "t.conf:1: listen: expected [address]:port", RC_MALFORMED},
        {"keys_dir =\n", "t.conf:1: keys_dir: empty value", RC_MALFORMED},
        {"listen = 10.0.0.1:8080\n", "t.conf:1: listen: plain HTTP on a non-loopback address",
         RC_DENIED},
        {"\ntls_cert = c.pem\n", "t.conf:2: tls_cert: tls_cert and tls_key must be set together",
         RC_MALFORMED},
        {"metrics_listen = 127.0.0.1:8080\n", "t.conf:1: metrics_listen: must not use the port",
         RC_MALFORMED},
    };
    struct config *c;
    struct config_error err;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_RC(parse(bad[i].text, &c, &err), bad[i].rc);
        CHECK(c == NULL);
        if (strncmp(err.text, bad[i].err, strlen(bad[i].err)) != 0)
            test_fail(__FILE__, __LINE__, "%s: got \"%s\", want \"%s...\"", bad[i].text, err.text,
                      bad[i].err);
    }
}

TEST(config_loopback_hosts)
{
    CHECK(config_host_is_loopback("127.0.0.1"));
    CHECK(config_host_is_loopback("127.255.0.9"));
    CHECK(config_host_is_loopback("::1"));
    CHECK(config_host_is_loopback("localhost"));
    CHECK(!config_host_is_loopback("128.0.0.1"));
    CHECK(!config_host_is_loopback("0.0.0.0"));
    CHECK(!config_host_is_loopback("::"));
    CHECK(!config_host_is_loopback("127.0.0.1.example.org"));
    CHECK(!config_host_is_loopback("localhost.example.org"));
}

TEST(config_load_resolves_paths_against_the_file)
{
    char dir[] = "/tmp/authd-conf-XXXXXX", path[64], want[64];
    struct config *c = NULL;
    struct config_error err = {0};
    FILE *f;

    REQUIRE(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/authd.conf", dir);
    REQUIRE((f = fopen(path, "w")));
    fputs("state_dir = st\n", f);
    fclose(f);
    CHECK_RC(config_load(path, &c, &err), RC_OK);
    snprintf(want, sizeof(want), "%s/st/keys", dir);
    CHECK(c && strcmp(c->keys_dir, want) == 0);
    config_free(c);
    unlink(path);
    CHECK_RC(config_load(path, &c, &err), RC_NOT_FOUND);
    CHECK(strstr(err.text, "cannot open the config file") != NULL);
    rmdir(dir);
    config_free(NULL);
}

TEST(config_print_lists_every_key_and_masks_url_passwords)
{
    struct config *c;
    struct config_error err;
    char out[8192];

    REQUIRE(parse("store = redis://authd:s3cret@10.0.0.5:6379/0\n"
                  "notify = https://gw:t0ken@sms.example/send\n",
                  &c, &err)
            == RC_OK);
    print(c, out, sizeof(out));
    CHECK(strstr(out, "store = redis://authd:****@10.0.0.5:6379/0\n") != NULL);
    CHECK(strstr(out, "notify = https://gw:****@sms.example/send\n") != NULL);
    CHECK(strstr(out, "s3cret") == NULL && strstr(out, "t0ken") == NULL);
    CHECK(strstr(out, "listen = 127.0.0.1:8080\n") != NULL);
    CHECK(strstr(out, "allow_insecure_http = false\n") != NULL);
    CHECK(strstr(out, "log_level = info\n") != NULL);
    CHECK(strstr(out, "tls_cert = \n") != NULL); /* unset keys are listed too */
    CHECK(strstr(out, "max_token_families_per_account = 50\n") != NULL);
    config_free(c);
    REQUIRE(parse("store = redis-sentinel://:pw0rd@10.0.0.1:26379,10.0.0.2:26379/authd\n", &c, &err)
            == RC_OK);
    print(c, out, sizeof(out));
    CHECK(strstr(out, "store = redis-sentinel://:****@10.0.0.1:26379,10.0.0.2:26379/authd\n")
          != NULL);
    config_free(c);
}

/* A Redis URL with a password and no user, "redis://PASSWORD@host" (adapt/store_redis_url.c
 * credentials() takes the part before '@' as the password when it has no ':'), was printed
 * by `authd -t` in clear (conf/config.c print_masked_url only knew user:password@). */
TEST(config_print_masks_a_password_without_a_user)
{
    struct config *c;
    struct config_error err;
    char out[8192];

    REQUIRE(parse("store = redis://s3cret@10.0.0.5:6379/0\n", &c, &err) == RC_OK);
    print(c, out, sizeof(out));
    CHECK(strstr(out, "s3cret") == NULL);
    CHECK(strstr(out, "store = redis://****@10.0.0.5:6379/0\n") != NULL);
    config_free(c);
    REQUIRE(parse("store = redis://app:pw@x@10.0.0.5:6379/0\n", &c, &err) == RC_OK);
    print(c, out, sizeof(out));
    CHECK(strstr(out, "pw") == NULL);
    CHECK(strstr(out, "store = redis://app:****@x@10.0.0.5:6379/0\n") != NULL); /* as parsed */
    config_free(c);
    REQUIRE(parse("store = redis://:se?cr#et@127.0.0.1:6379\n", &c, &err) == RC_OK);
    print(c, out, sizeof(out)); /* the parser takes '?' and '#' as part of the password */
    CHECK(strstr(out, "se?cr#et") == NULL);
    CHECK(strstr(out, "store = redis://:****@127.0.0.1:6379\n") != NULL);
    config_free(c);
    REQUIRE(parse("store = redis://10.0.0.5:6379/0?x=a@b\n", &c, &err) == RC_OK);
    print(c, out, sizeof(out));
    CHECK(strstr(out, "store = redis://10.0.0.5:6379/0?x=a@b\n") != NULL);
    config_free(c);
}

/* The SMS keys (flow/sms.h): defaults, and what each check refuses. */
TEST(config_sms_keys_defaults_and_refusals)
{
    static const struct {
        const char *text, *err;
    } bad[] = {
        {"sms_lang = fr\n", "t.conf:1: sms_lang: must be zh or en"},
        {"sms_service_name = a<b\n", "t.conf:1: sms_service_name: must not hold"},
        {"sms_code_ttl_s = 0\n", "t.conf:1: sms_code_ttl_s: must be a whole number in range"},
        {"login_ceiling_max_wait_s = 61\n", "t.conf:1: login_ceiling_max_wait_s: must be"},
    };
    struct config_error err;
    struct config *c;

    CHECK_RC(parse("", &c, &err), RC_OK);
    CHECK_INT(c->sms_code_ttl_s, 300);
    CHECK_INT(c->sms_per_phone, 5);
    CHECK_INT(c->sms_per_idnum, 5);
    CHECK_INT(c->sms_per_ip, 20);
    CHECK_INT(c->sms_budget_window_s, 86400);
    CHECK_STR(c->sms_service_name, "authd");
    CHECK_STR(c->sms_lang, "zh");
    CHECK_INT(c->login_ceiling_max_wait_s, 5);
    config_free(c);
    CHECK_RC(parse("sms_service_name = 政务服务\nsms_lang = en\n", &c, &err), RC_OK);
    CHECK_STR(c->sms_service_name, "政务服务");
    config_free(c);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_RC(parse(bad[i].text, &c, &err), RC_MALFORMED);
        CHECK(strncmp(err.text, bad[i].err, strlen(bad[i].err)) == 0);
    }
}
