//! Always-on and calendar configs through the API, the schedule preview, the skip history,
//! health figures and metrics, degraded runs, flagged keys, and what the console shows of
//! them.

use crate::console::{page, sign_in};
use crate::helpers::{Auth, TestApp};
use axum::http::{Method, StatusCode};
use serde_json::json;
use simrunner::dispatch::{DispatchPolicy, RunControl};

/// An app whose concurrency limit is `limit`.
async fn app_with_limit(limit: i32) -> TestApp {
    TestApp::with_runs(RunControl {
        launcher: Some(crate::helpers::fake_launcher("exec sleep 30")),
        policy: DispatchPolicy {
            max_concurrent_runs: limit,
            ..Default::default()
        },
        ..RunControl::default()
    })
    .await
}

#[tokio::test]
async fn always_on_and_calendar_configs_are_stored_shown_and_edited() {
    let app = app_with_limit(3).await;
    let id = app
        .create_simulation(|body| {
            body["schedule_type"] = json!("always_on");
            body.as_object_mut().unwrap().remove("interval_minutes");
            body["live_tables"] = json!(2);
            body["handover"] = json!(true);
            body["cooldown_minutes"] = json!(0);
            body["time_zone"] = json!("Europe/Berlin");
            body["windows"] =
                json!([{"start": "08:00", "end": "23:00"}, {"start": "23:30", "end": "24:00"}]);
            body["auto_pause_after"] = json!(3);
        })
        .await;
    let view = app.get(&format!("/v1/admin/simulations/{id}")).await.body;
    let sim = &view["simulation"];
    assert_eq!(sim["schedule_type"], "always_on");
    assert_eq!(sim["live_tables"], 2);
    assert_eq!(sim["handover"], true);
    assert_eq!(sim["windows"][1], json!({"start": "23:30", "end": "24:00"}));
    assert_eq!(sim["time_zone"], "Europe/Berlin");
    assert_eq!(sim["auto_pause_after"], 3);
    assert_eq!(view["skip_history"], json!([]));

    // To a calendar: the always-on fields go, the cron comes.
    let changed = app
        .patch(
            &format!("/v1/admin/simulations/{id}"),
            json!({"schedule_type": "periodic", "cron_expression": "cron(0 9 ? * MON-FRI *)",
                   "starts_at": "2030-01-01T00:00:00Z", "max_runs": 10, "cooldown_minutes": 5}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    assert_eq!(changed.body["cron_expression"], "0 9 ? * MON-FRI *");
    assert_eq!(changed.body["time_zone"], "Europe/Berlin");
    assert_eq!(changed.body["live_tables"], json!(null));
    assert_eq!(changed.body["windows"], json!([]));
    assert_eq!(changed.body["max_runs"], 10);
    // An interval replaces the cron expression and its dates.
    let changed = app
        .patch(
            &format!("/v1/admin/simulations/{id}"),
            json!({"interval_minutes": 15}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    assert_eq!(
        (
            changed.body["cron_expression"].clone(),
            changed.body["max_runs"].clone()
        ),
        (json!(null), json!(null))
    );
    assert_eq!(changed.body["interval_minutes"], 15);
}

#[tokio::test]
async fn bad_schedules_are_refused_with_the_field_at_fault() {
    let app = app_with_limit(2).await;
    let cases = [
        (json!({"cron_expression": "0 8 * * *"}), "cron_expression"),
        (
            json!({"cron_expression": "0 8 * * ? *", "time_zone": "Mars/Olympus"}),
            "time_zone",
        ),
        (
            json!({"cron_expression": "0 8 * * ? *", "starts_at": "2030-01-02T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z"}),
            "ends_at",
        ),
        (
            json!({"cron_expression": "0 0 31 2 ? *"}),
            "cron_expression",
        ),
        (
            json!({"schedule_type": "always_on", "windows": [{"start": "08:00", "end": "08:00"}]}),
            "windows[0].end",
        ),
        (
            json!({"schedule_type": "always_on", "live_tables": 3}),
            "live_tables",
        ),
        (
            json!({"schedule_type": "always_on", "live_tables": 2, "handover": true, "cooldown_minutes": 0}),
            "handover",
        ),
        (
            json!({"schedule_type": "always_on", "handover": true}),
            "cooldown_minutes",
        ),
        (json!({"live_tables": 1}), "live_tables"),
    ];
    for (change, field) in cases {
        let mut body = crate::helpers::valid_simulation();
        body["agent_slots"][3] = json!({"type": "random"});
        if change.get("cron_expression").is_some() || change.get("schedule_type").is_some() {
            body.as_object_mut().unwrap().remove("interval_minutes");
        }
        for (key, value) in change.as_object().unwrap() {
            body[key] = value.clone();
        }
        let response = app.post("/v1/admin/simulations", body).await;
        assert_eq!(
            response.status,
            StatusCode::BAD_REQUEST,
            "{change}: {}",
            response.text
        );
        assert_eq!(response.code(), "validation_failed");
        assert!(
            response.fields().contains(&field.to_owned()),
            "{change}: {:?}",
            response.fields()
        );
    }
    assert_eq!(app.count("simulation_configs").await, 0);
}

#[tokio::test]
async fn the_preview_lists_the_next_starts_and_warns_about_what_will_not_happen() {
    let app = app_with_limit(1).await;
    let preview = app
        .post(
            "/v1/admin/simulations/preview",
            json!({"schedule_type": "periodic", "cron_expression": "0/10 * * * ? *",
                   "cooldown_minutes": 15, "max_run_minutes": 20}),
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.text);
    let starts = preview.body["starts"].as_array().unwrap();
    assert_eq!(starts.len(), 10);
    let codes: Vec<&str> = preview.body["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["cooldown_longer_than_interval", "runs_longer_than_gap"]
    );
    let ended = app
        .post(
            "/v1/admin/simulations/preview",
            json!({"schedule_type": "periodic", "cron_expression": "0 9 * * ? *",
                   "starts_at": "2020-01-01T00:00:00Z", "ends_at": "2020-02-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(ended.body["starts"], json!([]));
    assert_eq!(ended.body["warnings"][0]["code"], "end_date_passed");
    let always_on = app
        .post(
            "/v1/admin/simulations/preview",
            json!({"schedule_type": "always_on", "handover": true, "cooldown_minutes": 0}),
        )
        .await;
    let codes: Vec<&str> = always_on.body["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["handover_needs_a_slot"]);
    let bad = app
        .post(
            "/v1/admin/simulations/preview",
            json!({"schedule_type": "periodic", "cron_expression": "nope"}),
        )
        .await;
    assert_eq!(
        (bad.status, bad.fields()),
        (StatusCode::BAD_REQUEST, vec!["cron_expression".to_owned()])
    );
}

#[tokio::test]
async fn health_figures_and_prometheus_metrics_are_for_admins_only() {
    let app = app_with_limit(1).await;
    let id = app.create_simulation(|_| {}).await;
    app.insert_run(&id, "completed", 30).await;
    app.insert_run(&id, "failed", 20).await;
    let health = app.get("/v1/admin/health?period=7d").await;
    assert_eq!(health.status, StatusCode::OK, "{}", health.text);
    assert_eq!(health.body["period"], "7d");
    assert_eq!(health.body["overall"]["runs"], 2);
    assert_eq!(health.body["overall"]["failure_rate"], 0.5);
    assert_eq!(health.body["series"].as_array().unwrap().len(), 28);
    assert_eq!(health.body["configs"][0]["id"], id.as_str());
    let bad = app.get("/v1/admin/health?period=1y").await;
    assert_eq!(
        (bad.status, bad.fields()),
        (StatusCode::BAD_REQUEST, vec!["period".to_owned()])
    );

    let metrics = app.get("/metrics").await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(
        metrics.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    assert!(
        metrics
            .text
            .contains("simrunner_failure_rate{period=\"24h\"} 0.5\n"),
        "{}",
        metrics.text
    );
    assert!(metrics.text.contains(&format!(
        "simrunner_runs{{period=\"7d\",config=\"{id}\",name=\"Evening table\"}} 2"
    )));
    let anonymous = app.call(Method::GET, "/metrics", None, Auth::None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn degraded_runs_and_refused_keys_are_shown_in_the_api_and_the_console() {
    let app = app_with_limit(1).await;
    let id = app.create_simulation(|_| {}).await;
    let run = app.insert_run(&id, "completed", 5).await;
    let client = app.db.pool.get().await.unwrap();
    client
        .execute(
            r#"UPDATE simulation_runs SET degraded_reasons = '[{"code": "auth", "seat": 3, "message": "openai answered auth for seat 3"}]', decisions = 40, fallbacks = 40 WHERE id = $1"#,
            &[&run],
        )
        .await
        .unwrap();
    let view = app
        .get(&format!("/v1/admin/simulations/runs/{run}"))
        .await
        .body;
    assert_eq!(view["degraded"], true);
    assert_eq!(view["degraded_reasons"][0]["code"], "auth");
    assert_eq!(
        (view["decisions"].clone(), view["fallbacks"].clone()),
        (json!(40), json!(40))
    );
    let list = app.get("/v1/admin/simulations").await.body;
    assert_eq!(list["items"][0]["latest_run"]["degraded"], true);

    app.post(
        "/v1/admin/api-keys",
        json!({"provider": "openai", "label": "prod", "key": "sk-test-0123456789"}),
    )
    .await;
    client
        .execute(
            "UPDATE provider_api_keys SET auth_failed_at = now(), auth_error = 'invalid x-api-key', last_worked_at = now() - interval '1 day'",
            &[],
        )
        .await
        .unwrap();
    let keys = app.get("/v1/admin/api-keys").await.body;
    assert_eq!(keys["items"][0]["auth_error"], "invalid x-api-key");
    assert!(keys["items"][0]["last_worked_at"].is_string());

    let cookie = sign_in(&app).await;
    let page_text = page(&app, &format!("/admin/simulations/{id}"), &cookie)
        .await
        .text;
    assert!(
        page_text.contains("class=\"badge warn degraded\""),
        "the run list marks it"
    );
    assert!(page_text.contains("<th>Completed</th>"));
    let run_page = page(&app, &format!("/admin/runs/{run}"), &cookie)
        .await
        .text;
    assert!(run_page.contains("openai answered auth for seat 3"));
    let keys_page = page(&app, "/admin/keys", &cookie).await.text;
    assert!(
        keys_page.contains("refused")
            && keys_page.contains("invalid x-api-key")
            && keys_page.contains("last worked")
    );
}

#[tokio::test]
async fn the_console_disables_start_at_the_limit_shows_the_dashboard_and_knows_the_seed_paths() {
    let app = app_with_limit(1).await;
    let busy = app.create_simulation(|_| {}).await;
    let idle = app.create_simulation(|_| {}).await;
    app.insert_run(&busy, "running", 1).await;
    let cookie = sign_in(&app).await;
    let text = page(&app, &format!("/admin/simulations/{idle}"), &cookie)
        .await
        .text;
    assert!(
        text.contains("Start is disabled: the limit of 1 active runs is reached"),
        "{text}"
    );
    assert!(text.contains("id=\"start\" data-method=\"POST\""));
    assert!(text.contains(" disabled title=\"the limit of 1 active runs is reached\""));
    assert!(
        text.contains("id=\"preview\""),
        "the schedule's next starts are shown"
    );

    let dashboard = page(&app, "/admin/health", &cookie).await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert!(dashboard.text.contains("<svg class=\"chart\""));
    assert!(
        dashboard.text.contains("id=\"health-24h\"") && dashboard.text.contains("id=\"health-7d\"")
    );

    for (path, to) in [
        ("/admin/simulations", "/admin"),
        ("/admin/api-keys", "/admin/keys"),
    ] {
        let response = page(&app, path, &cookie).await;
        assert_eq!(response.status, StatusCode::PERMANENT_REDIRECT, "{path}");
        assert_eq!(response.headers["location"], to);
    }
    let form = page(&app, "/admin/simulations/new", &cookie).await.text;
    assert!(
        form.contains("<option value=\"anthropic:claude-sonnet-4\">"),
        "known models are offered"
    );
    assert!(form.contains("id=\"schedule-preview\""));
}

#[tokio::test]
async fn a_refresh_of_the_model_lists_is_asked_for_providers_with_a_key() {
    let app = app_with_limit(1).await;
    let listed = app.get("/v1/admin/api-keys/models").await.body;
    let openai = &listed["items"][0];
    assert_eq!(
        (openai["provider"].clone(), openai["has_key"].clone()),
        (json!("openai"), json!(false))
    );
    assert!(
        openai["models"]
            .as_array()
            .unwrap()
            .contains(&json!("gpt-4o-mini"))
    );
    app.post(
        "/v1/admin/api-keys",
        json!({"provider": "google", "label": "g", "key": "AIza-test-0123456789"}),
    )
    .await;
    let refresh = app
        .call(
            Method::POST,
            "/v1/admin/api-keys/models/refresh",
            None,
            Auth::Token,
        )
        .await;
    assert_eq!(refresh.status, StatusCode::ACCEPTED, "{}", refresh.text);
    let google = &refresh.body["items"][2];
    assert_eq!(google["provider"], "google");
    assert!(google["refresh_requested_at"].is_string());
    assert!(
        refresh.body["items"][0]["refresh_requested_at"].is_null(),
        "no key, nothing to ask"
    );
}
