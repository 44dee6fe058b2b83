//! The admin console through the real router: sign-in, the session cookie, what it may do
//! with the API (CSRF and origin checks), redirects, headers, escaping and page weight.

use crate::helpers::{Response, TOKEN, TestApp, valid_simulation};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;

const HOST: &str = "console.test:8080";
const ORIGIN: &str = "http://console.test:8080";

fn login_request(token: &str, origin: Option<&str>, https: bool) -> Request<Body> {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri("/admin/login")
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(origin) = origin {
        request = request.header(header::ORIGIN, origin);
    }
    if https {
        request = request.header("x-forwarded-proto", "https");
    }
    let body = format!("token={}&next=%2Fadmin%2Fkeys", token.replace('+', "%2B"));
    request.body(Body::from(body)).unwrap()
}

/// Signs in with the admin token and returns the `Cookie` header value to send.
pub(crate) async fn sign_in(app: &TestApp) -> String {
    let response = app.raw(login_request(TOKEN, Some(ORIGIN), false)).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.text);
    let set_cookie = response.headers[header::SET_COOKIE].to_str().unwrap();
    set_cookie.split(';').next().unwrap().to_owned()
}

pub(crate) async fn page(app: &TestApp, path: &str, cookie: &str) -> Response {
    app.raw(
        Request::builder()
            .uri(path)
            .header(header::HOST, HOST)
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

fn csrf_of(page: &Response) -> String {
    let marker = r#"<meta name="csrf-token" content=""#;
    let start = page.text.find(marker).expect("pages carry the CSRF token") + marker.len();
    page.text[start..].split('"').next().unwrap().to_owned()
}

/// A call to the JSON API with the session cookie instead of a bearer token.
async fn with_cookie(
    app: &TestApp,
    method: Method,
    path: &str,
    cookie: &str,
    origin: Option<&str>,
    csrf: Option<&str>,
    body: Option<serde_json::Value>,
) -> Response {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, HOST)
        .header(header::COOKIE, cookie);
    if let Some(origin) = origin {
        request = request.header(header::ORIGIN, origin);
    }
    if let Some(csrf) = csrf {
        request = request.header("x-csrf-token", csrf);
    }
    let body = match body {
        Some(json) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(json.to_string())
        }
        None => Body::empty(),
    };
    app.raw(request.body(body).unwrap()).await
}

#[tokio::test]
async fn console_pages_send_visitors_without_a_session_to_sign_in() {
    let app = TestApp::spawn().await;
    for path in [
        "/admin",
        "/admin/keys",
        "/admin/simulations/new",
        "/admin/simulations/sim_x",
        "/admin/runs/run_x?x=1",
    ] {
        let response = page(&app, path, "simrunner_session=forged.value").await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "{path}");
        let location = response.headers[header::LOCATION].to_str().unwrap();
        assert!(
            location.starts_with("/admin/login?next=%2Fadmin")
                || location.starts_with("/admin/login?next=/admin"),
            "{location}"
        );
    }
    let login = page(&app, "/admin/login", "").await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.text.contains(r#"type="password""#));
}

#[tokio::test]
async fn signing_in_sets_a_signed_http_only_strict_cookie_and_never_echoes_the_token() {
    let app = TestApp::spawn().await;
    let response = app.raw(login_request(TOKEN, Some(ORIGIN), false)).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers[header::LOCATION],
        "/admin/keys",
        "back where it was going"
    );
    let cookie = response.headers[header::SET_COOKIE].to_str().unwrap();
    for part in [
        "simrunner_session=",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/",
        "Max-Age=43200",
    ] {
        assert!(cookie.contains(part), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP locally");
    assert!(!cookie.contains(TOKEN) && !response.text.contains(TOKEN));
    let over_https = app.raw(login_request(TOKEN, Some(ORIGIN), true)).await;
    assert!(
        over_https.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Secure")
    );

    // A JWT of an allowlisted admin signs in too, as that person.
    let jwt = crate::auth::jwt(
        Some(crate::helpers::ADMIN_EMAIL),
        3600,
        crate::helpers::JWT_SECRET,
    );
    let response = app.raw(login_request(&jwt, Some(ORIGIN), false)).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.text);
    let cookie = response.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert!(
        page(&app, "/admin", &cookie)
            .await
            .text
            .contains(crate::helpers::ADMIN_EMAIL)
    );

    // Wrong token: the form again with the reason, no cookie, and the token not echoed.
    let wrong = app
        .raw(login_request("wrong-token-123", Some(ORIGIN), false))
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.headers.get(header::SET_COOKIE).is_none());
    assert!(wrong.text.contains("invalid credentials") && !wrong.text.contains("wrong-token-123"));
    // A sign-in posted from another site is refused (login CSRF).
    for origin in [Some("http://evil.test"), None] {
        let forged = app.raw(login_request(TOKEN, origin, false)).await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "{origin:?}");
        assert!(forged.headers.get(header::SET_COOKIE).is_none());
    }
}

#[tokio::test]
async fn the_session_works_for_the_api_only_from_this_origin_with_its_csrf_token() {
    let app = TestApp::spawn().await;
    let cookie = sign_in(&app).await;
    let csrf = csrf_of(&page(&app, "/admin", &cookie).await);
    for (cookie, status) in [
        (cookie.as_str(), StatusCode::OK),
        ("simrunner_session=tampered.sig", StatusCode::UNAUTHORIZED),
    ] {
        let list = with_cookie(
            &app,
            Method::GET,
            "/v1/admin/simulations",
            cookie,
            None,
            None,
            None,
        )
        .await;
        assert_eq!(list.status, status, "reads need only a valid cookie");
    }

    let create = |origin: Option<&'static str>, token: Option<String>| {
        let cookie = cookie.clone();
        let app = &app;
        async move {
            with_cookie(
                app,
                Method::POST,
                "/v1/admin/simulations",
                &cookie,
                origin,
                token.as_deref(),
                Some(valid_simulation()),
            )
            .await
        }
    };
    for (origin, token, why) in [
        (Some(ORIGIN), None, "no CSRF token"),
        (Some(ORIGIN), Some("0".repeat(64)), "a wrong CSRF token"),
        (
            Some("http://console.test:9999"),
            Some(csrf.clone()),
            "another origin",
        ),
        (None, Some(csrf.clone()), "no origin"),
    ] {
        let refused = create(origin, token).await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{why}: {}",
            refused.text
        );
        assert_eq!(refused.code(), "forbidden");
    }
    assert_eq!(
        app.count("simulation_configs").await,
        0,
        "nothing was written"
    );
    let created = create(Some(ORIGIN), Some(csrf.clone())).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);

    // Signing out needs the token too, and then the cookie is cleared.
    let logout = |csrf: &str| {
        app.raw(
            Request::builder()
                .method(Method::POST)
                .uri("/admin/logout")
                .header(header::HOST, HOST)
                .header(header::ORIGIN, ORIGIN)
                .header(header::COOKIE, &cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!("csrf={csrf}")))
                .unwrap(),
        )
    };
    assert_eq!(logout("nope").await.status, StatusCode::FORBIDDEN);
    let out = logout(&csrf).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(
        out.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
}

#[tokio::test]
async fn pages_escape_what_users_typed_carry_security_headers_and_never_a_full_key() {
    let app = TestApp::spawn().await;
    let xss = "<img src=x onerror=alert(1)>";
    let id = app.create_simulation(|s| s["name"] = json!(xss)).await;
    let key = "sk-full-secret-key-0123456789";
    let added = app
        .post(
            "/v1/admin/api-keys",
            json!({"provider": "openai", "label": xss, "key": key}),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED);
    let cookie = sign_in(&app).await;
    for path in [
        "/admin".to_owned(),
        format!("/admin/simulations/{id}"),
        format!("/admin/simulations/{id}/edit"),
        "/admin/simulations/new".to_owned(),
        "/admin/keys".to_owned(),
    ] {
        let response = page(&app, &path, &cookie).await;
        assert_eq!(response.status, StatusCode::OK, "{path}: {}", response.text);
        assert!(!response.text.contains(xss), "{path} has the raw HTML");
        assert!(
            !response.text.contains(key) && !response.text.contains(TOKEN),
            "{path}"
        );
        let csp = response.headers["content-security-policy"]
            .to_str()
            .unwrap();
        assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"));
        assert_eq!(response.headers["x-frame-options"], "DENY");
        assert_eq!(response.headers["x-content-type-options"], "nosniff");
        assert_eq!(response.headers[header::CACHE_CONTROL], "no-cache");
    }
    assert!(
        page(&app, "/admin", &cookie)
            .await
            .text
            .contains("&#60;img src=x onerror=alert(1)&#62;")
    );
    assert!(
        page(&app, "/admin/keys", &cookie)
            .await
            .text
            .contains("****6789")
    );
    let missing = page(&app, "/admin/simulations/sim_nope", &cookie).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_played_runs_page_links_its_hand_histories_and_the_session_downloads_them() {
    let app = TestApp::spawn().await;
    let run = app.queued_fast_run(3).await;
    let cookie = sign_in(&app).await;
    let download = format!("/v1/admin/simulations/runs/{run}/hands.phhs");
    let link = format!("href=\"{download}\" download");
    let queued = page(&app, &format!("/admin/runs/{run}"), &cookie).await;
    assert!(
        !queued.text.contains(&link),
        "no table yet, no hands to link"
    );
    app.play_run(&run).await;
    let played = page(&app, &format!("/admin/runs/{run}"), &cookie).await;
    assert!(played.text.contains(&link), "{}", played.text);
    // The link is a plain GET with the session cookie, as a click in the console sends it.
    let file = with_cookie(&app, Method::GET, &download, &cookie, None, None, None).await;
    assert_eq!(file.status, StatusCode::OK, "{}", file.text);
    assert!(
        file.text.starts_with("[1]\nvariant = \"NT\"\n"),
        "{}",
        file.text
    );
}

#[tokio::test]
async fn the_list_of_a_hundred_simulations_weighs_under_100_kb_with_its_assets() {
    let app = TestApp::spawn().await;
    for n in 0..100 {
        app.create_simulation(|s| s["name"] = json!(format!("Evening table number {n}")))
            .await;
    }
    let cookie = sign_in(&app).await;
    let list = page(&app, "/admin", &cookie).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(
        list.text.matches("Evening table number").count(),
        100,
        "all on one page"
    );
    let mut total = list.text.len();
    for asset in list
        .text
        .split(['"', '\''])
        .filter(|s| s.starts_with("/admin/assets/"))
    {
        let response = page(&app, asset, &cookie).await;
        assert_eq!(response.status, StatusCode::OK, "{asset}");
        total += response.text.len();
    }
    println!(
        "the list of 100 simulations: {} bytes of HTML, {total} bytes with CSS and scripts",
        list.text.len()
    );
    assert!(total <= 100 * 1024, "{total} bytes");
}
