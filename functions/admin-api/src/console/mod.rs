//! The admin console: server-rendered pages under `/admin`, served by the admin function next
//! to the API they use. Signing in turns the admin token (or an admin's JWT) into a session
//! cookie ([`crate::session`]); every page needs one and redirects to the sign-in page
//! without it. Pages read the database directly; every change a page makes goes through the
//! JSON API (`console.js`, with the cookie and the session's CSRF token), so the console and
//! `curl` share one set of rules and one set of error messages.

mod format;
mod pages;

use crate::auth::same_origin;
use crate::state::AppState;
use askama::Template;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::Utc;
use serde::Deserialize;
use web::page::{Asset, Assets, COMMON_SCRIPT, Layout, STYLE, html, security_headers, serve_asset};

pub static CONSOLE_SCRIPT: Asset = Asset {
    name: "console.js",
    content_type: "text/javascript; charset=utf-8",
    body: include_bytes!("../../assets/console.js"),
};

/// Where console assets are served: under `/admin`, which reaches the admin function in AWS.
const ASSET_PREFIX: &str = "/admin/assets";

/// What every console handler uses.
#[derive(Clone)]
pub struct Console {
    app: AppState,
    layout: Layout,
    script: String,
}

/// The console's routes, with the security headers on every response.
pub fn routes(app: AppState) -> Router {
    let assets = Assets::under(ASSET_PREFIX, &[&STYLE, &COMMON_SCRIPT, &CONSOLE_SCRIPT]);
    let console = Console {
        app,
        layout: Layout::new(&assets),
        script: assets.url(CONSOLE_SCRIPT.name).to_owned(),
    };
    Router::new()
        .route("/admin", get(pages::simulations))
        .route("/admin/login", get(login_page).post(login))
        .route("/admin/logout", post(logout))
        .route("/admin/simulations/new", get(pages::new_simulation))
        .route("/admin/simulations/{id}", get(pages::simulation))
        .route("/admin/simulations/{id}/edit", get(pages::edit_simulation))
        .route("/admin/runs/{id}", get(pages::run))
        .route("/admin/keys", get(pages::keys))
        .route("/admin/health", get(pages::health))
        // The seed's paths for the same pages.
        .route(
            "/admin/simulations",
            get(|| async { Redirect::permanent("/admin") }),
        )
        .route(
            "/admin/api-keys",
            get(|| async { Redirect::permanent("/admin/keys") }),
        )
        .route("/admin/agents", get(pages::agents))
        .route("/admin/webhooks", get(pages::webhooks))
        .route("/admin/platforms", get(pages::platforms))
        .with_state(console)
        .route(
            &format!("{ASSET_PREFIX}/{{file}}"),
            get(serve_asset).with_state(assets),
        )
        .layer(axum::middleware::from_fn(security_headers))
        // Unlike the public pages' `no-referrer`: with it, browsers send `Origin: null` on
        // form posts, and the sign-in and sign-out forms could not prove where they came from.
        .layer(axum::middleware::map_response(
            |mut response: Response| async {
                response.headers_mut().insert(
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("same-origin"),
                );
                response
            },
        ))
}

/// The signed-in operator of a console page; without a session the page answers with a
/// redirect to the sign-in page, which comes back here afterwards.
pub struct SignedIn {
    pub who: String,
    /// The session's CSRF token, which pages hand to `console.js`.
    pub csrf: String,
}

impl FromRequestParts<Console> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, console: &Console) -> Result<Self, Response> {
        let auth = &console.app.auth;
        match auth.session(&parts.headers) {
            Some(session) => Ok(Self {
                csrf: auth.sessions.csrf_token(&session),
                who: session.who,
            }),
            None => {
                let here = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/admin");
                Err(
                    Redirect::to(&format!("/admin/login?next={}", format::url_encode(here)))
                        .into_response(),
                )
            }
        }
    }
}

/// Where to go after signing in: only a console page of this site.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(path)
            if path.starts_with("/admin")
                && !path.starts_with("/admin/login")
                && !path.contains("//")
                && !path.contains('\\') =>
        {
            path
        }
        _ => "/admin",
    }
}

/// The console is served over HTTPS (API Gateway, CloudFront): the cookie is then `Secure`.
fn over_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"))
}

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage {
    layout: Layout,
    next: String,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

async fn login_page(
    State(console): State<Console>,
    headers: HeaderMap,
    Query(query): Query<LoginQuery>,
) -> Response {
    let next = safe_next(query.next.as_deref()).to_owned();
    if console.app.auth.session(&headers).is_some() {
        return Redirect::to(&next).into_response();
    }
    login_form(&console, next, None)
}

/// The sign-in page, with why the last attempt was refused if it was.
fn login_form(console: &Console, next: String, error: Option<String>) -> Response {
    let page = LoginPage {
        layout: console.layout.clone(),
        next,
        error,
    };
    html(page.render().expect("the sign-in page renders"))
}

/// A redirect to `to` that sets (or clears) the session cookie.
fn redirect_setting_cookie(to: &str, set_cookie: &str) -> Response {
    let mut response = Redirect::to(to).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(set_cookie).expect("cookies are header-safe"),
    );
    response
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    token: Option<String>,
    next: Option<String>,
}

/// Checks the token like the API does (admin token or an allowlisted JWT) and sets the
/// session cookie. The token is never logged, echoed or put in a URL.
async fn login(
    State(console): State<Console>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(form.next.as_deref()).to_owned();
    let refuse = |status: StatusCode, message: String| {
        (status, login_form(&console, next.clone(), Some(message))).into_response()
    };
    if !same_origin(&headers) {
        return refuse(
            StatusCode::FORBIDDEN,
            "this sign-in did not come from this console's own page".into(),
        );
    }
    let token = form.token.unwrap_or_default();
    let token = token.trim();
    if token.is_empty() {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "enter the admin token or a JWT".into(),
        );
    }
    let auth = &console.app.auth;
    match auth.authenticate(Some(&format!("Bearer {token}"))) {
        Ok(identity) => {
            tracing::info!(?identity, "console sign-in");
            let cookie = auth.sessions.issue(&identity, Utc::now());
            redirect_setting_cookie(
                &next,
                &crate::session::set_cookie(&cookie, over_https(&headers)),
            )
        }
        Err(error) => {
            tracing::info!(code = ?error.code(), "console sign-in refused");
            refuse(error.status(), error.message().to_owned())
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct LogoutForm {
    csrf: Option<String>,
}

/// Ends the session: clears the cookie (a form with the session's CSRF token, from this site).
async fn logout(
    State(console): State<Console>,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    let auth = &console.app.auth;
    if let Some(session) = auth.session(&headers)
        && let Err(error) =
            auth.check_session_change(&session, &headers, form.csrf.as_deref().unwrap_or(""))
    {
        return (
            error.status(),
            format!("sign-out refused: {}\n", error.message()),
        )
            .into_response();
    }
    redirect_setting_cookie(
        "/admin/login",
        &crate::session::clear_cookie(over_https(&headers)),
    )
}
