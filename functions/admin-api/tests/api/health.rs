use crate::helpers::{Auth, TestApp, state_for};
use axum::http::{Method, StatusCode};
use tower::ServiceExt as _;

#[tokio::test]
async fn healthz_is_ok_while_the_database_answers() {
    let app = TestApp::spawn().await;
    let response = app.call(Method::GET, "/healthz", None, Auth::None).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body["database"], "ok");
    assert!(response.headers.contains_key("x-request-id"));
}

#[tokio::test]
async fn healthz_and_the_api_say_503_when_the_database_is_gone() {
    // A cluster of this test's own, so that stopping it disturbs no other test.
    let (cluster, _) = simrunner::testing::own_cluster("health").await;
    let pool = simrunner::db::build_pool(&cluster.url("postgres"), 2).unwrap();
    simrunner::db::migrate(&mut pool.get().await.unwrap())
        .await
        .unwrap();
    let app = admin_api::app(state_for(pool, None));
    let get = |path: &'static str| {
        let app = app.clone();
        async move {
            let request = axum::http::Request::get(path)
                .header("authorization", format!("Bearer {}", crate::helpers::TOKEN))
                .body(axum::body::Body::empty())
                .unwrap();
            let response = app.oneshot(request).await.unwrap();
            let status = response.status();
            let retry_after = response.headers().get("retry-after").cloned();
            let bytes = http_body_util::BodyExt::collect(response.into_body())
                .await
                .unwrap()
                .to_bytes();
            (
                status,
                serde_json::from_slice::<serde_json::Value>(&bytes).unwrap(),
                retry_after,
            )
        }
    };
    assert_eq!(get("/healthz").await.0, StatusCode::OK);

    tokio::task::spawn_blocking(move || cluster.stop())
        .await
        .unwrap()
        .unwrap();
    for path in ["/healthz", "/v1/admin/simulations"] {
        let (status, body, retry_after) = get(path).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}: {body}");
        assert_eq!(body["error"]["code"], "database_unavailable", "{path}");
        assert!(retry_after.is_some());
    }
}
