/* The outbound port over libcurl without a server: what a client refuses before sending,
 * and how a refused connection is reported. Real exchanges are covered by the population
 * service, notice and back-channel logout integration tests. */
#include "compose/compose.h"
#include "test.h"

TEST(outbound_refuses_what_it_must_not_send)
{
    struct outbound *ob = NULL;
    struct outbound_resp resp = {0};

    REQUIRE(compose_outbound_open(&(struct outbound_opts){.https_only = true}, &ob, NULL) == RC_OK);
    CHECK_RC(outbound_send(ob, &(struct outbound_req){.url = "http://127.0.0.1:1/"}, &resp),
             RC_MALFORMED); /* http:// on an https-only client */
    CHECK_RC(outbound_send(ob,
                           &(struct outbound_req){.url = "https://127.0.0.1:1/",
                                                  .body = SPAN("{}"),
                                                  .content_type = "a/b\r\nX-Injected: 1"},
                           &resp),
             RC_MALFORMED); /* no header injection through a content type */
    CHECK_RC(outbound_send(ob, &(struct outbound_req){.url = NULL}, &resp), RC_MALFORMED);
    outbound_free(ob);
}

TEST(outbound_no_answer_is_unavailable_and_handles_are_reused)
{
    struct outbound *ob = NULL;
    struct outbound_resp resp = {.status = 99};
    uint8_t buf[16];

    REQUIRE(compose_outbound_open(
                &(struct outbound_opts){.connect_timeout_ms = 500, .timeout_ms = 500}, &ob, NULL)
            == RC_OK);
    for (int i = 0; i < 3; i++) { /* port 1 on loopback: refused at once */
        resp.buf = buf, resp.cap = sizeof(buf);
        CHECK_RC(outbound_send(ob, &(struct outbound_req){.url = "http://127.0.0.1:1/"}, &resp),
                 RC_UNAVAILABLE);
        CHECK_INT(resp.status, 0);
        CHECK_INT(resp.len, 0);
    }
    outbound_free(ob);
}
