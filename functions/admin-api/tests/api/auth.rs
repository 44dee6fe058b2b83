use crate::helpers::{ADMIN_EMAIL, Auth, JWT_SECRET, TOKEN, TestApp};
use admin_api::auth::{JwtKey, JwtVerifier};
use axum::http::{Method, StatusCode};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

/// Every (method, path) the OpenAPI document marks as needing the bearer token, with
/// example ids filled in: a route added later is covered without touching this test.
fn secured_routes(app: &TestApp) -> Vec<(Method, String)> {
    let doc = serde_json::to_value(admin_api::openapi(&app.state)).unwrap();
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if op.get("security").is_some() {
                let path = path
                    .replace(
                        "/simulations/{id}",
                        "/simulations/sim_0123456789abcdef0123456789abcdef",
                    )
                    .replace(
                        "/api-keys/{id}",
                        "/api-keys/key_0123456789abcdef0123456789abcdef",
                    )
                    .replace(
                        "/agents/{id}",
                        "/agents/agt_0123456789abcdef0123456789abcdef",
                    );
                routes.push((method.to_uppercase().parse().unwrap(), path));
            }
        }
    }
    routes
}

#[tokio::test]
async fn every_admin_route_answers_401_without_good_credentials() {
    let app = TestApp::spawn().await;
    let routes = secured_routes(&app);
    assert_eq!(routes.len(), 35, "{routes:?}");
    let wrong_token = format!("Bearer {TOKEN}x");
    let wrong_scheme = format!("Basic {TOKEN}");
    let credentials = [
        ("none", Auth::None),
        ("wrong token", Auth::Header(&wrong_token)),
        ("wrong scheme", Auth::Header(&wrong_scheme)),
        ("empty bearer", Auth::Header("Bearer ")),
        ("garbage jwt", Auth::Header("Bearer a.b.c")),
    ];
    for (method, path) in &routes {
        for (name, auth) in credentials {
            let response = app.call(method.clone(), path, Some(json!({})), auth).await;
            assert_eq!(
                response.status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {name}"
            );
            assert_eq!(
                response.code(),
                "unauthorized",
                "{method} {path} with {name}"
            );
            assert_eq!(response.headers["www-authenticate"], "Bearer");
        }
    }
    assert_eq!(app.count("simulation_configs").await, 0);
}

#[tokio::test]
async fn public_routes_need_no_credentials() {
    let app = TestApp::spawn().await;
    for path in ["/healthz", "/openapi.json"] {
        let response = app.call(Method::GET, path, None, Auth::None).await;
        assert_eq!(response.status, StatusCode::OK, "{path}");
    }
    let doc = app
        .call(Method::GET, "/openapi.json", None, Auth::None)
        .await
        .body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    let paths: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        paths,
        [
            "/healthz",
            "/metrics",
            "/v1/admin/agents",
            "/v1/admin/agents/{id}",
            "/v1/admin/agents/{id}/revoke",
            "/v1/admin/api-keys",
            "/v1/admin/api-keys/models",
            "/v1/admin/api-keys/models/refresh",
            "/v1/admin/api-keys/{id}",
            "/v1/admin/health",
            "/v1/admin/platforms",
            "/v1/admin/platforms/{id}",
            "/v1/admin/platforms/{id}/check",
            "/v1/admin/simulations",
            "/v1/admin/simulations/agent-types",
            "/v1/admin/simulations/emergency-stop",
            "/v1/admin/simulations/preview",
            "/v1/admin/simulations/runs/{id}",
            "/v1/admin/simulations/runs/{id}/hands.phhs",
            "/v1/admin/simulations/runs/{id}/logs",
            "/v1/admin/simulations/{id}",
            "/v1/admin/simulations/{id}/start",
            "/v1/admin/simulations/{id}/stop",
            "/v1/admin/tables",
            "/v1/admin/tables/{id}/start",
            "/v1/admin/tables/{id}/stop",
            "/v1/admin/webhooks",
            "/v1/admin/webhooks/{id}",
        ]
    );
}

pub fn jwt(email: Option<&str>, expires_in: i64, secret: &str) -> String {
    let exp = chrono::Utc::now().timestamp() + expires_in;
    let claims = match email {
        Some(e) => json!({"sub": "u1", "email": e, "exp": exp, "aud": "authenticated"}),
        None => json!({"sub": "u1", "exp": exp}),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[tokio::test]
async fn jwts_from_allowlisted_emails_get_in_and_others_do_not() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            jwt(Some(ADMIN_EMAIL), 600, JWT_SECRET),
            StatusCode::OK,
            None,
        ),
        (
            jwt(Some("OPS@Example.com"), 600, JWT_SECRET),
            StatusCode::OK,
            None,
        ),
        (
            jwt(Some("visitor@example.com"), 600, JWT_SECRET),
            StatusCode::FORBIDDEN,
            Some("forbidden"),
        ),
        (
            jwt(None, 600, JWT_SECRET),
            StatusCode::FORBIDDEN,
            Some("forbidden"),
        ),
        (
            jwt(Some(ADMIN_EMAIL), -3600, JWT_SECRET),
            StatusCode::UNAUTHORIZED,
            Some("unauthorized"),
        ),
        (
            jwt(Some(ADMIN_EMAIL), 600, "another-secret-another-secret-1234"),
            StatusCode::UNAUTHORIZED,
            Some("unauthorized"),
        ),
    ];
    for (token, status, code) in cases {
        let header = format!("Bearer {token}");
        let response = app
            .call(
                Method::GET,
                "/v1/admin/simulations",
                None,
                Auth::Header(&header),
            )
            .await;
        assert_eq!(response.status, status, "{}", response.text);
        if let Some(code) = code {
            assert_eq!(response.code(), code);
        }
    }
}

#[tokio::test]
async fn rs256_tokens_verify_against_the_public_key() {
    let verifier = JwtVerifier::new(
        &JwtKey::Rs256PublicPem(include_str!("fixtures/jwt-test-public.pem").into()),
        [ADMIN_EMAIL.to_owned()],
        Some("https://issuer.example.com"),
        Some("simrunner"),
    )
    .unwrap();
    let app = TestApp::with_jwt(Some(verifier)).await;
    let key = EncodingKey::from_rsa_pem(include_bytes!("fixtures/jwt-test-private.pem")).unwrap();
    let sign = |iss: &str, aud: &str| {
        let claims = json!({"email": ADMIN_EMAIL, "iss": iss, "aud": aud,
                            "exp": chrono::Utc::now().timestamp() + 600});
        format!(
            "Bearer {}",
            jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &key).unwrap()
        )
    };
    let good = sign("https://issuer.example.com", "simrunner");
    let response = app
        .call(Method::GET, "/v1/admin/api-keys", None, Auth::Header(&good))
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    for bad in [
        sign("https://evil.example.com", "simrunner"),
        sign("https://issuer.example.com", "other"),
    ] {
        let response = app
            .call(Method::GET, "/v1/admin/api-keys", None, Auth::Header(&bad))
            .await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    }
    // An HS256 token signed with the public key as the secret (algorithm confusion) fails.
    let confused = jwt(
        Some(ADMIN_EMAIL),
        600,
        include_str!("fixtures/jwt-test-public.pem"),
    );
    let header = format!("Bearer {confused}");
    let response = app
        .call(
            Method::GET,
            "/v1/admin/api-keys",
            None,
            Auth::Header(&header),
        )
        .await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
}
