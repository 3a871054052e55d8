/* flow/csrf: one CSRF scheme for every form. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapt/secrets_file.h"
#include "flow/csrf.h"
#include "test.h"

static struct app *
csrf_app(void)
{
    static struct app app;
    static bool done;
    char dir[] = "/tmp/authd-test-csrf-XXXXXX", path[64];

    if (done)
        return &app;
    if (!mkdtemp(dir))
        return NULL;
    snprintf(path, sizeof(path), "%s/master.key", dir);
    if (secrets_file_open(path, true, &app.secrets, NULL) != RC_OK)
        return NULL;
    unlink(path);
    rmdir(dir);
    done = true;
    return &app;
}

TEST(csrf_token_is_bound_to_its_form_and_values)
{
    struct app *app = csrf_app();
    struct span b1[2] = {SPAN("pending-1"), SPAN("bind-1")}, b2[2] = {SPAN("pending-1"), SPAN("bind-2")};
    char t[CSRF_LEN + 1], t2[CSRF_LEN + 1];

    REQUIRE(app != NULL);
    CHECK_RC(csrf_make(app, "login", b1, 2, t), RC_OK);
    CHECK_INT(strlen(t), CSRF_LEN);
    CHECK(csrf_check(app, "login", b1, 2, span_str(t)));
    CHECK(!csrf_check(app, "consent", b1, 2, span_str(t))); /* another form */
    CHECK(!csrf_check(app, "login", b2, 2, span_str(t)));   /* another browser */
    CHECK(!csrf_check(app, "login", b1, 1, span_str(t)));   /* fewer bound values */
    CHECK_RC(csrf_make(app, "login", b1, 2, t2), RC_OK);
    CHECK_STR(t, t2); /* deterministic: nothing stored */
    t[0] = t[0] == 'a' ? 'b' : 'a';
    CHECK(!csrf_check(app, "login", b1, 2, span_str(t)));
    CHECK(!csrf_check(app, "login", b1, 2, span_of(t2, CSRF_LEN - 1)));
    CHECK(!csrf_check(app, "login", b1, 2, SPAN("")));
}

TEST(csrf_refuses_a_token_bound_to_nothing)
{
    struct app *app = csrf_app();
    struct span empty[1] = {SPAN("")}, one[1] = {SPAN("x")};
    char t[CSRF_LEN + 1];

    REQUIRE(app != NULL);
    CHECK_RC(csrf_make(app, "logout", empty, 1, t), RC_MALFORMED);
    CHECK_RC(csrf_make(app, "logout", one, 0, t), RC_MALFORMED);
    CHECK_RC(csrf_make(app, "", one, 1, t), RC_MALFORMED);
    CHECK_RC(csrf_make(app, NULL, one, 1, t), RC_MALFORMED);
    CHECK(!csrf_check(app, "logout", empty, 1, SPAN("0000000000000000000000000000000000000000000000000000000000000000")));
}
