"""Pins the exact wire answer of each refusal (status, JSON body with error and
error_description, WWW-Authenticate, Retry-After) of /token, /introspect, /revoke,
/userinfo, /notify and /api/register, and the message each refusal of the registration
page shows in both languages: the error vocabulary (util/rc.h reasons, one table per
endpoint) must render them unchanged."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import Authd, run, test  # noqa: E402

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
AT = "urn:ietf:params:oauth:token-type:access_token"
DUMP = os.environ.get("AUTHD_ERRORS_DUMP")

A = Authd(conf={"register_rate_per_ip": "1000", "kiosk_cert_header": "X-SSL-Client-Cert",
                "kiosk_trusted_proxies": "127.0.0.1"}, population=500)
A.setup()
with open(os.path.join(A.state, "policy", "errors-kiosk.conf"), "w") as f:
    f.write("[client err-kiosk]\ntype = confidential\nauth_method = tls_client_auth\n"
            "grant_types = client_credentials refresh_token\nscopes = openid profile phone\n")
A.authctl("kiosk", "enroll", "--id", "err-k1", "--location", "x", "--services", "profile",
          "--client", "err-kiosk")
A.start()
SECRETS = {c["client_id"]: c.get("client_secret") for c in A.demo()["clients"]}


def auth(cid):
    return (cid, SECRETS[cid])


def answer(r):
    try:
        body = r.json()
    except ValueError:
        body = r.text
    return [r.status_code, body, r.headers.get("WWW-Authenticate"),
            r.headers.get("Retry-After")]


def pin(t, name, r, want):
    got = answer(r)
    if DUMP:
        print(f"    {name!r}: {got!r},")
    t.eq(got, want, name)


def cc_token(cid="demo-module"):
    return A.post("/token", data={"grant_type": "client_credentials"}, auth=auth(cid)).json()[
        "access_token"]


TOKEN = {
    "no grant_type": ({"foo": "1"}, "demo-module"),
    "unknown grant_type": ({"grant_type": "foo"}, "demo-module"),
    "code not registered": ({"grant_type": "authorization_code", "code": "x"}, "demo-module"),
    "refresh not registered": ({"grant_type": "refresh_token", "refresh_token": "x"},
                               "demo-module"),
    "code missing": ({"grant_type": "authorization_code"}, "demo-portal"),
    "code unknown": ({"grant_type": "authorization_code", "code": "x" * 43}, "demo-portal"),
    "refresh missing": ({"grant_type": "refresh_token"}, "demo-portal"),
    "refresh unknown": ({"grant_type": "refresh_token", "refresh_token": "x" * 43},
                        "demo-portal"),
    "refresh scope empty": ({"grant_type": "refresh_token", "refresh_token": "x" * 43,
                             "scope": " "}, "demo-portal"),
    "cc scope unregistered": ({"grant_type": "client_credentials", "scope": "profile"},
                              "demo-module"),
    "cc scope malformed": ({"grant_type": "client_credentials", "scope": "a\"b"},
                           "demo-module"),
    "cc by portal": ({"grant_type": "client_credentials"}, "demo-portal"),
    "exchange not registered": ({"grant_type": EXCHANGE}, "demo-module"),
    "exchange no subject": ({"grant_type": EXCHANGE}, "demo-portal"),
    "exchange bad type": ({"grant_type": EXCHANGE, "subject_token": "x",
                           "subject_token_type": "y"}, "demo-portal"),
    "exchange resource": ({"grant_type": EXCHANGE, "subject_token": "x",
                           "subject_token_type": AT, "resource": "r"}, "demo-portal"),
    "exchange audience not allowed": ({"grant_type": EXCHANGE, "subject_token": "x",
                                       "subject_token_type": AT, "audience": "demo-app"},
                                      "demo-portal"),
    "exchange bad subject": ({"grant_type": EXCHANGE, "subject_token": "x.y.z",
                              "subject_token_type": AT, "audience": "workflow-service"},
                             "demo-portal"),
}

WANT = {
    'token no grant_type': [400, {'error': 'invalid_request', 'error_description': 'grant_type: missing'}, None, None],
    'token unknown grant_type': [400, {'error': 'unsupported_grant_type', 'error_description': 'grant_type: not supported'}, None, None],
    'token code not registered': [400, {'error': 'unauthorized_client', 'error_description': 'grant_type: not registered'}, None, None],
    'token refresh not registered': [400, {'error': 'unauthorized_client', 'error_description': 'grant_type: not registered'}, None, None],
    'token code missing': [400, {'error': 'invalid_request', 'error_description': 'code: missing'}, None, None],
    'token code unknown': [400, {'error': 'invalid_grant', 'error_description': 'code: unknown or expired'}, None, None],
    'token refresh missing': [400, {'error': 'invalid_request', 'error_description': 'refresh_token: missing'}, None, None],
    'token refresh unknown': [400, {'error': 'invalid_grant', 'error_description': 'refresh_token: unknown'}, None, None],
    'token refresh scope empty': [400, {'error': 'invalid_scope', 'error_description': 'scope: empty'}, None, None],
    'token cc scope unregistered': [400, {'error': 'invalid_scope', 'error_description': 'scope: none registered for the client'}, None, None],
    'token cc scope malformed': [400, {'error': 'invalid_scope', 'error_description': 'scope: malformed'}, None, None],
    'token cc by portal': [400, {'error': 'unauthorized_client', 'error_description': 'grant_type: not registered'}, None, None],
    'token exchange not registered': [400, {'error': 'unauthorized_client', 'error_description': 'grant_type: token exchange is not registered for this client'}, None, None],
    'token exchange no subject': [400, {'error': 'invalid_request', 'error_description': 'subject_token: missing'}, None, None],
    'token exchange bad type': [400, {'error': 'invalid_request', 'error_description': 'subject_token_type: only urn:ietf:params:oauth:token-type:access_token is accepted'}, None, None],
    'token exchange resource': [400, {'error': 'invalid_target', 'error_description': 'resource: not supported: name the module in audience'}, None, None],
    'token exchange audience not allowed': [400, {'error': 'invalid_target', 'error_description': 'audience: not allowed for this client by policy'}, None, None],
    'token exchange bad subject': [400, {'error': 'invalid_request', 'error_description': 'subject_token: invalid'}, None, None],
    'token wrong secret': [401, {'error': 'invalid_client', 'error_description': 'client_secret: wrong secret'}, 'Basic realm="authd", charset="UTF-8"', None],
    'token json body': [400, {'error': 'invalid_request', 'error_description': 'Content-Type: must be application/x-www-form-urlencoded'}, None, None],
    'token repeated parameter': [400, {'error': 'invalid_request', 'error_description': 'form: repeated parameter'}, None, None],
    'token secret in body, basic registered': [401, {'error': 'invalid_client', 'error_description': "client authentication: not the client's registered method"}, None, None],
    'introspect public': [400, {'error': 'unauthorized_client', 'error_description': 'client: public clients cannot introspect'}, None, None],
    'introspect no token': [400, {'error': 'invalid_request', 'error_description': 'token: missing'}, None, None],
    'revoke no token': [400, {'error': 'invalid_request', 'error_description': 'token: missing'}, None, None],
    'notify no sub': [400, {'error': 'invalid_request', 'error_description': 'sub: missing or too long'}, None, None],
    'notify no scope': [403, {'error': 'insufficient_scope', 'error_description': 'client: scope notify.send is not registered'}, None, None],
    'notify unknown sub': [400, {'error': 'invalid_request', 'error_description': 'sub: not a subject of ours'}, None, None],
    'userinfo none': [401, {}, 'Bearer realm="authd"', None],
    'userinfo bad': [401, {'error': 'invalid_token', 'error_description': 'invalid'}, 'Bearer realm="authd", error="invalid_token", error_description="invalid"', None],
    'userinfo two': [400, {'error': 'invalid_request', 'error_description': 'one bearer token, header or body'}, 'Bearer realm="authd", error="invalid_request", error_description="one bearer token, header or body"', None],
    'userinfo client token': [401, {'error': 'invalid_token', 'error_description': 'invalid'}, 'Bearer realm="authd", error="invalid_token", error_description="invalid"', None],
    'api idnum length': [400, {'error': 'invalid_request', 'error_description': 'id_number: must be 18 characters'}, None, None],
    'api idnum character': [400, {'error': 'invalid_request', 'error_description': 'id_number: must be 17 digits and a digit or X'}, None, None],
    'api idnum check digit': [400, {'error': 'invalid_request', 'error_description': 'id_number: check digit does not match'}, None, None],
    'api idnum date': [400, {'error': 'invalid_request', 'error_description': 'id_number: birth date is not a valid past date'}, None, None],
    'api idnum province': [400, {'error': 'invalid_request', 'error_description': 'id_number: unknown province code'}, None, None],
    'api name empty': [400, {'error': 'invalid_request', 'error_description': 'name: empty'}, None, None],
    'api name control': [400, {'error': 'invalid_request', 'error_description': 'name: control character'}, None, None],
    'api phone': [400, {'error': 'invalid_request', 'error_description': 'phone: must be 11 digits starting with 1'}, None, None],
    'api pw short': [400, {'error': 'invalid_request', 'error_description': 'password: too short'}, None, None],
    'api pw long': [400, {'error': 'invalid_request', 'error_description': 'password: too long (at most 256 bytes)'}, None, None],
    'api pw idnum': [400, {'error': 'invalid_request', 'error_description': 'password: must not be the ID number'}, None, None],
    'api pw birth': [400, {'error': 'invalid_request', 'error_description': 'password: must not be the birth date'}, None, None],
    'api pw phone': [400, {'error': 'invalid_request', 'error_description': 'password: must not be the mobile number'}, None, None],
    'api pw nul': [400, {'error': 'invalid_request', 'error_description': 'body must be one JSON object'}, None, None],
    'api not verified': [403, {'error': 'access_denied', 'error_description': 'the ID number and name could not be verified'}, None, None],
    'page en idnum length': [400, 'The ID number must be 18 characters'],
    'page en idnum character': [400, 'The ID number must be 17 digits followed by a digit or X'],
    'page en idnum check digit': [400, 'The ID number&#39;s check character is wrong; please check for a typo'],
    'page en idnum date': [400, 'The birth date in the ID number is not valid'],
    'page en idnum province': [400, 'The region code of the ID number is not valid'],
    'page en name empty': [400, 'Enter your name as it appears on your ID card'],
    'page en name control': [400, 'Enter your name as it appears on your ID card'],
    'page en phone': [400, 'The mobile number must be 11 digits starting with 1'],
    'page en pw short': [400, 'The password is too short: at least 8 characters'],
    'page en pw long': [400, 'The password is too long: at most 256 bytes'],
    'page en pw idnum': [400, 'The password must not be your ID number'],
    'page en pw birth': [400, 'The password must not be your birth date'],
    'page en pw phone': [400, 'The password must not be your mobile number'],
    'page en pw nul': [400, 'The request is not valid'],
    'page en not verified': [403, 'The ID number and name could not be verified; please check them and try again'],
    'page zh-CN idnum length': [400, '身份证号码应为 18 位'],
    'page zh-CN idnum character': [400, '身份证号码应为 17 位数字加 1 位数字或 X'],
    'page zh-CN idnum check digit': [400, '身份证号码校验位不正确，请检查是否输错'],
    'page zh-CN idnum date': [400, '身份证号码中的出生日期无效'],
    'page zh-CN idnum province': [400, '身份证号码的地区代码无效'],
    'page zh-CN name empty': [400, '请填写身份证上的姓名'],
    'page zh-CN name control': [400, '请填写身份证上的姓名'],
    'page zh-CN phone': [400, '手机号码应为以 1 开头的 11 位数字'],
    'page zh-CN pw short': [400, '密码太短，至少 8 个字符'],
    'page zh-CN pw long': [400, '密码太长，最多 256 字节'],
    'page zh-CN pw idnum': [400, '密码不能是身份证号码'],
    'page zh-CN pw birth': [400, '密码不能是出生日期'],
    'page zh-CN pw phone': [400, '密码不能是手机号码'],
    'page zh-CN pw nul': [400, '请求无效'],
    'page zh-CN not verified': [403, '身份证号码与姓名未能通过核验，请检查后重试'],
}


@test
def token_refusals_are_unchanged(t):
    for name, (data, cid) in TOKEN.items():
        pin(t, "token " + name, A.post("/token", data=data, auth=auth(cid)),
            WANT.get("token " + name))


@test
def call_refusals_are_unchanged(t):
    pin(t, "token wrong secret", A.post("/token", data={"grant_type": "client_credentials"},
                                        auth=("demo-module", "wrong")),
        WANT.get("token wrong secret"))
    pin(t, "token json body", A.post("/token", json={"grant_type": "client_credentials"},
                                     auth=auth("demo-module")), WANT.get("token json body"))
    pin(t, "token repeated parameter",
        A.post("/token", data="grant_type=a&grant_type=b", auth=auth("demo-module"),
               headers={"Content-Type": "application/x-www-form-urlencoded"}),
        WANT.get("token repeated parameter"))
    pin(t, "token secret in body, basic registered",
        A.post("/token", data={"grant_type": "client_credentials", "client_id": "demo-module",
                               "client_secret": SECRETS["demo-module"]}),
        WANT.get("token secret in body, basic registered"))
    pin(t, "introspect public", A.post("/introspect", data={"token": "x",
                                                            "client_id": "demo-app"}),
        WANT.get("introspect public"))
    pin(t, "introspect no token", A.post("/introspect", data={"foo": "1"}, auth=auth("demo-module")),
        WANT.get("introspect no token"))
    pin(t, "revoke no token", A.post("/revoke", data={"foo": "1"}, auth=auth("demo-module")),
        WANT.get("revoke no token"))
    pin(t, "notify no sub", A.post("/notify", data={"text": "x"},
                                   auth=auth("workflow-service")), WANT.get("notify no sub"))
    pin(t, "notify no scope", A.post("/notify", data={"sub": "x", "text": "x"},
                                     auth=auth("demo-portal")), WANT.get("notify no scope"))
    pin(t, "notify unknown sub", A.post("/notify", data={"sub": "x", "text": "x"},
                                        auth=auth("workflow-service")),
        WANT.get("notify unknown sub"))


@test
def userinfo_refusals_are_unchanged(t):
    at = cc_token()
    pin(t, "userinfo none", A.get("/userinfo"), WANT.get("userinfo none"))
    pin(t, "userinfo bad", A.get("/userinfo", headers={"Authorization": "Bearer x.y.z"}),
        WANT.get("userinfo bad"))
    pin(t, "userinfo two", A.post("/userinfo", data={"access_token": at},
                                  headers={"Authorization": "Bearer " + at}),
        WANT.get("userinfo two"))
    pin(t, "userinfo client token", A.get("/userinfo", headers={"Authorization": "Bearer " + at}),
        WANT.get("userinfo client token"))


def population_row():
    import csv
    demo = {c["id_number"] for c in A.demo()["citizens"]}
    with open(os.path.join(A.state, "population.csv"), newline="", encoding="utf-8") as f:
        return [r for r in csv.DictReader(f) if r["status"] == "normal"
                and r["id_number"] not in demo][0]


def with_check(first17):
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return first17 + "10X98765432"[sum(int(c) * k for c, k in zip(first17, w)) % 11]


def bad_fields(row):
    n, b = row["id_number"], row["birth_date"]
    return {
        "idnum length": ("id_number", {"id_number": n[:17]}),
        "idnum character": ("id_number", {"id_number": n[:16] + "A" + n[17]}),
        "idnum check digit": ("id_number", {"id_number": n[:17] + ("0" if n[17] != "0"
                                                                   else "1")}),
        "idnum date": ("id_number", {"id_number": with_check(n[:6] + "20991231" + n[14:17])}),
        "idnum province": ("id_number", {"id_number": with_check("99" + n[2:17])}),
        "name empty": ("name", {"name": "   "}),
        "name control": ("name", {"name": "张\u0001三"}),
        "phone": ("phone", {"phone": "23912345678"}),
        "pw short": ("password", {"password": "short"}),
        "pw long": ("password", {"password": "x" * 257}),
        "pw idnum": ("password", {"password": n}),
        "pw birth": ("password", {"password": b.replace("-", "")}),
        "pw phone": ("password", {"password": "13912345678"}),
        "pw nul": ("form", {"password": "Strong\u0000pass-42"}),
        "not verified": ("form", {"name": row["name"] + "甲"}),
    }


@test
def api_register_refusals_are_unchanged(t):
    row = population_row()
    base = {"id_number": row["id_number"], "name": row["name"], "phone": "13912345678",
            "password": "Strong-pass-42"}
    for name, (_, change) in bad_fields(row).items():
        pin(t, "api " + name, A.post("/api/register", json=base | change),
            WANT.get("api " + name))


def err_text(html, field):
    """The message shown at field (or the form's), without markup."""
    m = re.search(r'id="%s-err"[^>]*>(.*?)</' % field, html, re.S)
    return m.group(1).strip() if m else None


@test
def register_page_refusals_are_unchanged(t):
    row = population_row()
    base = {"id_number": row["id_number"], "name": row["name"], "phone": "13912345678",
            "password": "Strong-pass-42", "password2": "Strong-pass-42", "consent": "yes"}
    s = A.session()
    for lang in ("en", "zh-CN"):
        for name, (field, change) in bad_fields(row).items():
            page = s.get(A.base + "/register", timeout=10, headers={"Accept-Language": lang})
            token = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text).group(1)
            data = base | change
            data["password2"] = data["password"]
            r = s.post(A.base + "/register", data=data | {"csrf": token}, timeout=10,
                       headers={"Accept-Language": lang})
            got = [r.status_code, err_text(r.text, field)]
            key = f"page {lang} {name}"
            if DUMP:
                print(f"    {key!r}: {got!r},")
            t.eq(got, WANT.get(key), key)


DEVICE = "urn:ietf:params:oauth:grant-type:device_code"
DEVICE_WANT = {
    'device grant not registered': [400, {'error': 'unauthorized_client', 'error_description': 'grant_type: not registered'}, None, None],
    'device code missing': [400, {'error': 'invalid_request', 'error_description': 'device_code: missing'}, None, None],
    'device code unknown': [400, {'error': 'invalid_grant', 'error_description': 'device_code: unknown, used or not yours'}, None, None],
    'device pending': [400, {'error': 'authorization_pending', 'error_description': 'device_code: not decided yet'}, None, None],
    'device slow down': [400, {'error': 'slow_down', 'error_description': 'device_code: polled too fast'}, None, None],
    'device_authorization not registered': [400, {'error': 'unauthorized_client', 'error_description': 'client_id: not registered for the device_code grant'}, None, None],
    'device_authorization scope': [400, {'error': 'invalid_scope', 'error_description': 'scope: none registered for the client'}, None, None],
}


@test
def device_refusals_are_unchanged(t):
    kiosk = {"grant_type": DEVICE, "client_id": "demo-kiosk"}
    pin(t, "device grant not registered", A.post("/token", data={"grant_type": DEVICE},
                                                 auth=auth("demo-module")),
        DEVICE_WANT["device grant not registered"])
    pin(t, "device code missing", A.post("/token", data=kiosk), DEVICE_WANT["device code missing"])
    pin(t, "device code unknown", A.post("/token", data=dict(kiosk, device_code="x" * 43)),
        DEVICE_WANT["device code unknown"])
    dc = A.post("/device_authorization", data={"client_id": "demo-kiosk"}).json()["device_code"]
    pin(t, "device pending", A.post("/token", data=dict(kiosk, device_code=dc)),
        DEVICE_WANT["device pending"])
    pin(t, "device slow down", A.post("/token", data=dict(kiosk, device_code=dc)),
        DEVICE_WANT["device slow down"])
    pin(t, "device_authorization not registered",
        A.post("/device_authorization", data={"client_id": "demo-app"}),
        DEVICE_WANT["device_authorization not registered"])
    pin(t, "device_authorization scope",
        A.post("/device_authorization", data={"client_id": "demo-kiosk", "scope": "nosuch"}),
        DEVICE_WANT["device_authorization scope"])


CIBA = "urn:openid:params:grant-type:ciba"
CIBA_HINT = A.demo()["citizens"][0]["id_number"]
CIBA_REQ = {
    "bc-authorize public client": ({"client_id": "demo-kiosk", "scope": "openid",
                                    "login_hint": CIBA_HINT}, None),
    "bc-authorize not registered": ({"scope": "openid", "login_hint": CIBA_HINT},
                                    "demo-module"),
    "bc-authorize bad secret": ({"scope": "openid", "login_hint": CIBA_HINT},
                                ("demo-console", "wrong")),
    "bc-authorize no login_hint": ({"scope": "openid"}, "demo-console"),
    "bc-authorize login_hint_token": ({"scope": "openid", "login_hint_token": "x"},
                                      "demo-console"),
    "bc-authorize id_token_hint": ({"scope": "openid", "id_token_hint": "x"}, "demo-console"),
    "bc-authorize no openid": ({"scope": "profile", "login_hint": CIBA_HINT}, "demo-console"),
    "bc-authorize unknown user": ({"scope": "openid", "login_hint": "110105199003071230"},
                                  "demo-console"),
    "bc-authorize binding message": ({"scope": "openid", "login_hint": CIBA_HINT,
                                      "binding_message": "x" * 65}, "demo-console"),
    "bc-authorize requested_expiry": ({"scope": "openid", "login_hint": CIBA_HINT,
                                       "requested_expiry": "0"}, "demo-console"),
}
CIBA_WANT = {
    'bc-authorize public client': [400, {'error': 'unauthorized_client', 'error_description': 'client_id: not registered for the ciba grant'}, None, None],
    'bc-authorize not registered': [400, {'error': 'unauthorized_client', 'error_description': 'client_id: not registered for the ciba grant'}, None, None],
    'bc-authorize bad secret': [401, {'error': 'invalid_client', 'error_description': 'client_secret: wrong secret'}, 'Basic realm="authd", charset="UTF-8"', None],
    'bc-authorize no login_hint': [400, {'error': 'invalid_request', 'error_description': 'login_hint: missing'}, None, None],
    'bc-authorize login_hint_token': [400, {'error': 'invalid_request', 'error_description': 'login_hint_token: not supported: use login_hint'}, None, None],
    'bc-authorize id_token_hint': [400, {'error': 'invalid_request', 'error_description': 'id_token_hint: not supported: use login_hint'}, None, None],
    'bc-authorize no openid': [400, {'error': 'invalid_scope', 'error_description': 'scope: must contain openid'}, None, None],
    'bc-authorize unknown user': [400, {'error': 'unknown_user_id', 'error_description': 'login_hint: unknown user'}, None, None],
    'bc-authorize binding message': [400, {'error': 'invalid_binding_message', 'error_description': 'binding_message: too long'}, None, None],
    'bc-authorize requested_expiry': [400, {'error': 'invalid_request', 'error_description': 'requested_expiry: not a positive integer'}, None, None],
    'ciba grant not registered': [400, {'error': 'unauthorized_client', 'error_description': 'grant_type: not registered'}, None, None],
    'ciba auth_req_id missing': [400, {'error': 'invalid_request', 'error_description': 'auth_req_id: missing'}, None, None],
    'ciba auth_req_id unknown': [400, {'error': 'invalid_grant', 'error_description': 'auth_req_id: unknown, used or not yours'}, None, None],
    'ciba pending': [400, {'error': 'authorization_pending', 'error_description': 'auth_req_id: not decided yet'}, None, None],
    'ciba slow down': [400, {'error': 'slow_down', 'error_description': 'auth_req_id: polled too fast'}, None, None],
}


@test
def ciba_refusals_are_unchanged(t):
    for name, (data, who) in CIBA_REQ.items():
        a = who if isinstance(who, tuple) else auth(who) if who else None
        pin(t, name, A.post("/bc-authorize", data=data, auth=a), CIBA_WANT[name])
    console = auth("demo-console")
    pin(t, "ciba grant not registered",
        A.post("/token", data={"grant_type": CIBA, "auth_req_id": "x"}, auth=auth("demo-module")),
        CIBA_WANT["ciba grant not registered"])
    pin(t, "ciba auth_req_id missing", A.post("/token", data={"grant_type": CIBA}, auth=console),
        CIBA_WANT["ciba auth_req_id missing"])
    pin(t, "ciba auth_req_id unknown",
        A.post("/token", data={"grant_type": CIBA, "auth_req_id": "x" * 43}, auth=console),
        CIBA_WANT["ciba auth_req_id unknown"])
    r = A.post("/bc-authorize", data={"scope": "openid", "login_hint": CIBA_HINT}, auth=console)
    t.eq(r.status_code, 200, r.text)
    rid = r.json()["auth_req_id"]
    pin(t, "ciba pending", A.post("/token", data={"grant_type": CIBA, "auth_req_id": rid},
                                  auth=console), CIBA_WANT["ciba pending"])
    pin(t, "ciba slow down", A.post("/token", data={"grant_type": CIBA, "auth_req_id": rid},
                                    auth=console), CIBA_WANT["ciba slow down"])


PAR_OK = {"response_type": "code", "scope": "openid", "redirect_uri":
          "http://127.0.0.1:8081/oidc/callback", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
          "code_challenge_method": "S256"}
PAR = {
    "request_uri given": dict(PAR_OK, request_uri="urn:ietf:params:oauth:request_uri:x"),
    "other client_id": dict(PAR_OK, client_id="demo-app"),
    "redirect not registered": dict(PAR_OK, redirect_uri="http://evil.example/cb"),
    "no response_type": {k: v for k, v in PAR_OK.items() if k != "response_type"},
    "scope without openid": dict(PAR_OK, scope="profile"),
    "no pkce": {k: v for k, v in PAR_OK.items() if not k.startswith("code_challenge")},
}
PAR_WANT = {
    'par request_uri given': [400, {'error': 'invalid_request', 'error_description': 'request_uri: not allowed here'}, None, None],
    'par other client_id': [400, {'error': 'invalid_request', 'error_description': 'client_id: differs from the Basic credentials'}, None, None],
    'par redirect not registered': [400, {'error': 'invalid_request', 'error_description': 'redirect_uri: not registered for this client'}, None, None],
    'par no response_type': [400, {'error': 'invalid_request', 'error_description': 'response_type: missing'}, None, None],
    'par scope without openid': [400, {'error': 'invalid_scope', 'error_description': 'scope: openid is required'}, None, None],
    'par no pkce': [400, {'error': 'invalid_request', 'error_description': 'code_challenge: required (PKCE S256)'}, None, None],
    'par wrong secret': [401, {'error': 'invalid_client', 'error_description': 'client_secret: wrong secret'}, 'Basic realm="authd", charset="UTF-8"', None],
}


@test
def par_refusals_are_unchanged(t):
    for name, data in PAR.items():
        pin(t, "par " + name, A.post("/par", data=data, auth=auth("demo-portal")),
            PAR_WANT.get("par " + name))
    pin(t, "par wrong secret", A.post("/par", data=PAR_OK, auth=("demo-portal", "x")),
        PAR_WANT.get("par wrong secret"))



def dpop_proof(htm, path):
    import json as j
    import secrets
    import time
    from jwcrypto import jwk, jwt
    k = jwk.JWK.generate(kty="EC", crv="P-256")
    t = jwt.JWT(header={"typ": "dpop+jwt", "alg": "ES256", "jwk": j.loads(k.export_public())},
                claims={"jti": secrets.token_urlsafe(8), "htm": htm, "htu": A.base + path,
                        "iat": int(time.time())})
    t.make_signed_token(k)
    return t.serialize()


DPOP_WANT = {
    'dpop token garbage': [400, {'error': 'invalid_dpop_proof', 'error_description': 'jwt: header is not base64url'}, None, None],
    'dpop token wrong htm': [400, {'error': 'invalid_dpop_proof', 'error_description': 'htm: not the method of the request'}, None, None],
    'dpop userinfo bound as bearer': [401, {'error': 'invalid_token', 'error_description': 'Authorization: a DPoP-bound token needs the DPoP scheme and a proof'}, 'DPoP algs="ES256 RS256 PS256 ES384", error="invalid_token", error_description="Authorization: a DPoP-bound token needs the DPoP scheme and a proof"', None],
    'dpop userinfo no proof': [401, {'error': 'invalid_dpop_proof', 'error_description': 'DPoP: missing'}, 'DPoP algs="ES256 RS256 PS256 ES384", error="invalid_dpop_proof", error_description="DPoP: missing"', None],
}


@test
def dpop_refusals_are_unchanged(t):
    cc = {"grant_type": "client_credentials"}
    pin(t, "dpop token garbage", A.post("/token", data=cc, auth=auth("demo-module"),
                                        headers={"DPoP": "x.y.z"}),
        DPOP_WANT.get("dpop token garbage"))
    pin(t, "dpop token wrong htm", A.post("/token", data=cc, auth=auth("demo-module"),
                                          headers={"DPoP": dpop_proof("GET", "/token")}),
        DPOP_WANT.get("dpop token wrong htm"))
    bound = A.post("/token", data=cc, auth=auth("demo-module"),
                   headers={"DPoP": dpop_proof("POST", "/token")}).json()["access_token"]
    pin(t, "dpop userinfo bound as bearer",
        A.get("/userinfo", headers={"Authorization": "Bearer " + bound}),
        DPOP_WANT.get("dpop userinfo bound as bearer"))
    pin(t, "dpop userinfo no proof", A.get("/userinfo", headers={"Authorization": "DPoP " + bound}),
        DPOP_WANT.get("dpop userinfo no proof"))

KIOSK_WANT = {
    'kiosk nonce no certificate': [401, {'error': 'invalid_client', 'error_description': 'client certificate: none presented (mutual TLS on kiosk_listen, or a trusted proxy)'}, None, None],
    'kiosk nonce bad forwarded certificate': [401, {'error': 'invalid_client', 'error_description': 'client certificate: the forwarded certificate is not a URL-encoded PEM certificate'}, None, None],
    'kiosk nonce not tls_client_auth': [401, {'error': 'invalid_client', 'error_description': 'client_id: the kiosk endpoints need a client registered for tls_client_auth'}, None, None],
    'kiosk login no scope': [400, {'error': 'invalid_scope', 'error_description': 'scope: missing'}, None, None],
    'kiosk login no openid': [400, {'error': 'invalid_scope', 'error_description': 'scope: must include openid'}, None, None],
    'kiosk login scope not enrolled': [400, {'error': 'invalid_grant', 'error_description': 'scope: a scope the kiosk is not enrolled for (its services)'}, None, None],
    'kiosk login no assertion': [400, {'error': 'invalid_request', 'error_description': 'assertion: missing'}, None, None],
    'kiosk login bad assertion': [400, {'error': 'invalid_grant', 'error_description': 'assertion: not a compact JWS'}, None, None],
    'kiosk removed bad sid': [400, {'error': 'invalid_request', 'error_description': 'sid: missing or malformed'}, None, None],
    'kiosk removed unknown sid': [400, {'error': 'invalid_request', 'error_description': 'sid: not a card session of this kiosk'}, None, None],
    'kiosk bound token without certificate': [401, {'error': 'invalid_token', 'error_description': 'client certificate: a certificate-bound token needs the certificate it was issued to'}, 'Bearer realm="authd", error="invalid_token", error_description="client certificate: a certificate-bound token needs the certificate it was issued to"', None],
}


@test
def kiosk_refusals_are_unchanged(t):
    from urllib.parse import quote
    pem = open(os.path.join(A.state, "kiosks", "err-k1.crt")).read()
    hdr = {"X-SSL-Client-Cert": quote(pem, safe="")}
    kc = {"client_id": "err-kiosk"}
    pin(t, "kiosk nonce no certificate", A.post("/kiosk/nonce", data=kc),
        KIOSK_WANT.get("kiosk nonce no certificate"))
    pin(t, "kiosk nonce bad forwarded certificate",
        A.post("/kiosk/nonce", data=kc, headers={"X-SSL-Client-Cert": "x"}),
        KIOSK_WANT.get("kiosk nonce bad forwarded certificate"))
    pin(t, "kiosk nonce not tls_client_auth",
        A.post("/kiosk/nonce", data={"x": "1"}, auth=auth("demo-module"), headers=hdr),
        KIOSK_WANT.get("kiosk nonce not tls_client_auth"))
    for name, form in (("kiosk login no scope", {}),
                       ("kiosk login no openid", {"scope": "profile"}),
                       ("kiosk login scope not enrolled", {"scope": "openid phone"}),
                       ("kiosk login no assertion", {"scope": "openid"}),
                       ("kiosk login bad assertion", {"scope": "openid", "assertion": "x.y.z"})):
        pin(t, name, A.post("/kiosk/card-login", data={**kc, **form}, headers=hdr),
            KIOSK_WANT.get(name))
    pin(t, "kiosk removed bad sid",
        A.post("/kiosk/card-removed", data={**kc, "sid": "x"}, headers=hdr),
        KIOSK_WANT.get("kiosk removed bad sid"))
    pin(t, "kiosk removed unknown sid",
        A.post("/kiosk/card-removed", data={**kc, "sid": "A" * 43}, headers=hdr),
        KIOSK_WANT.get("kiosk removed unknown sid"))
    bound = A.post("/token", data={**kc, "grant_type": "client_credentials"},
                   headers=hdr).json()["access_token"]
    pin(t, "kiosk bound token without certificate",
        A.get("/userinfo", headers={"Authorization": "Bearer " + bound}),
        KIOSK_WANT.get("kiosk bound token without certificate"))
    r = A.get("/kiosk/session?code=" + "A" * 43)
    t.eq(r.status_code, 400, "session_uri unknown")
    t.check("该登录链接无效" in r.text or "sign-in link" in r.text, "the page says why")


if __name__ == "__main__":
    try:
        run()
    finally:
        A.stop()
