use crate::helpers::{Auth, TestApp, valid_simulation};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

#[tokio::test]
async fn create_stores_a_paused_config_with_defaults_and_a_bucket_key() {
    let app = TestApp::spawn().await;
    let created = app.post("/v1/admin/simulations", valid_simulation()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let sim = &created.body;
    assert!(sim["id"].as_str().unwrap().starts_with("sim_"));
    assert_eq!(sim["status"], "paused");
    assert_eq!(sim["bucket_key"], "sb5_bb10_seats4_timeout10000");
    assert_eq!(sim["agent_count"], 4);
    assert_eq!(sim["cooldown_minutes"], 5);
    assert_eq!(sim["max_hands"], 20);
    assert_eq!(sim["max_run_minutes"], 10);
    assert_eq!(sim["pace"], "live");
    assert_eq!(sim["is_running"], false);
    assert_eq!(sim["latest_run"], Value::Null);
    assert_eq!(sim["agent_slots"][3]["model"], "anthropic:claude-sonnet-4");
    assert_eq!(sim["table_config"]["initialStack"], 1000);

    let id = sim["id"].as_str().unwrap();
    let fetched = app.get(&format!("/v1/admin/simulations/{id}")).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.body["simulation"], created.body);
    assert_eq!(fetched.body["runs"]["items"], json!([]));
}

#[tokio::test]
async fn the_list_is_newest_first_with_latest_run_and_pages_by_cursor() {
    let app = TestApp::spawn().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            app.create_simulation(|b| b["name"] = json!(format!("sim {i}")))
                .await,
        );
    }
    let busy = &ids[1];
    app.insert_run(busy, "completed", 30).await;
    let latest = app.insert_run(busy, "running", 1).await;

    let first = app.get("/v1/admin/simulations?limit=2").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let names: Vec<_> = first.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].clone())
        .collect();
    assert_eq!(names, [json!("sim 4"), json!("sim 3")]);
    let cursor = first.body["next_cursor"].as_str().unwrap();

    let second = app
        .get(&format!("/v1/admin/simulations?limit=2&cursor={cursor}"))
        .await;
    let items = second.body["items"].as_array().unwrap();
    assert_eq!(items[0]["name"], "sim 2");
    assert_eq!(items[1]["name"], "sim 1");
    assert_eq!(items[1]["is_running"], true);
    assert_eq!(items[1]["latest_run"]["id"], json!(latest));
    assert_eq!(items[1]["latest_run"]["status"], "running");
    assert_eq!(items[0]["is_running"], false);

    let cursor = second.body["next_cursor"].as_str().unwrap();
    let last = app
        .get(&format!("/v1/admin/simulations?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(last.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(last.body["next_cursor"], Value::Null);
}

/// The list is kept between requests while the database is unchanged: whatever changes it,
/// the API or a runner writing straight to the database, the next request shows.
#[tokio::test]
async fn the_list_shows_every_change_at_once_however_it_was_made() {
    let app = TestApp::spawn().await;
    let config = app.create_simulation(|_| {}).await;
    let llm = app
        .post("/v1/admin/simulations", valid_simulation())
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let list = || async {
        let listed = app.get("/v1/admin/simulations").await;
        assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
        let items = listed.body["items"].as_array().unwrap().clone();
        let find = |id: &str| items.iter().find(|s| s["id"] == id).unwrap().clone();
        (find(&config), find(&llm))
    };
    let (plain, with_llm) = list().await;
    assert_eq!(plain["latest_run"], Value::Null);
    assert_eq!(with_llm["warnings"][0]["code"], "missing_api_key");
    assert_eq!(
        list().await,
        (plain, with_llm),
        "asked again, the same answer"
    );

    // The dispatcher inserts a run, then the runner's heartbeats count its hands.
    let run = app.insert_run(&config, "running", 0).await;
    let client = app.db.pool.get().await.unwrap();
    for hands in 1..=5_i64 {
        client
            .execute(
                "UPDATE simulation_runs SET hands_played = $2, heartbeat_at = now() WHERE id = $1",
                &[&run, &hands],
            )
            .await
            .unwrap();
        let (plain, _) = list().await;
        assert_eq!(plain["is_running"], true);
        assert_eq!(plain["latest_run"]["id"], json!(run));
        assert_eq!(plain["latest_run"]["hands_played"], hands);
    }
    client
        .execute(
            "UPDATE simulation_configs SET name = 'renamed by hand' WHERE id = $1",
            &[&config],
        )
        .await
        .unwrap();
    assert_eq!(list().await.0["name"], "renamed by hand");

    // A key for the missing provider, through the API: the warning goes.
    let key = app
        .post(
            "/v1/admin/api-keys",
            json!({"provider": "anthropic", "label": "production", "key": "sk-ant-example-1234"}),
        )
        .await;
    assert_eq!(key.status, StatusCode::CREATED, "{}", key.text);
    assert_eq!(list().await.1["warnings"], json!([]));
}

#[tokio::test]
async fn the_detail_pages_the_run_history_newest_first() {
    let app = TestApp::spawn().await;
    let id = app.create_simulation(|_| {}).await;
    let old = app.insert_run(&id, "failed", 90).await;
    let mid = app.insert_run(&id, "completed", 60).await;
    let new = app.insert_run(&id, "cancelled", 30).await;

    let page = app
        .get(&format!("/v1/admin/simulations/{id}?runs_limit=2"))
        .await;
    let runs = page.body["runs"]["items"].as_array().unwrap();
    assert_eq!(
        runs.iter().map(|r| r["id"].clone()).collect::<Vec<_>>(),
        [json!(new), json!(mid)]
    );
    let cursor = page.body["runs"]["next_cursor"].as_str().unwrap();
    let rest = app
        .get(&format!(
            "/v1/admin/simulations/{id}?runs_limit=2&runs_cursor={cursor}"
        ))
        .await;
    let runs = rest.body["runs"]["items"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["id"], json!(old));
    assert_eq!(runs[0]["error"]["code"], "runner_lost");
    assert_eq!(page.body["simulation"]["latest_run"]["id"], json!(new));
}

#[tokio::test]
async fn patch_changes_only_the_given_fields_and_recomputes_the_bucket_key() {
    let app = TestApp::spawn().await;
    let id = app.create_simulation(|_| {}).await;
    let path = format!("/v1/admin/simulations/{id}");

    let renamed = app
        .patch(&path, json!({"name": "  Renamed  ", "status": "active"}))
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text);
    assert_eq!(renamed.body["name"], "Renamed");
    assert_eq!(renamed.body["status"], "active");
    assert_eq!(
        renamed.body["interval_minutes"], 30,
        "untouched fields keep their values"
    );

    let reseated = app
        .patch(
            &path,
            json!({"agent_slots": [{"type": "random"}, {"type": "random"}],
                   "table_config": {"blinds": {"big": 20}, "actionTimeoutMs": 5000}}),
        )
        .await;
    assert_eq!(reseated.status, StatusCode::OK, "{}", reseated.text);
    assert_eq!(reseated.body["agent_count"], 2);
    assert_eq!(
        reseated.body["table_config"]["blinds"],
        json!({"small": 5, "big": 20})
    );
    assert_eq!(reseated.body["bucket_key"], "sb5_bb20_seats2_timeout5000");

    let one_off = app.patch(&path, json!({"schedule_type": "one_off"})).await;
    assert_eq!(one_off.status, StatusCode::OK, "{}", one_off.text);
    assert_eq!(one_off.body["interval_minutes"], Value::Null);

    let periodic = app
        .patch(
            &path,
            json!({"schedule_type": "periodic", "interval_minutes": 15}),
        )
        .await;
    assert_eq!(periodic.body["interval_minutes"], 15);
    assert!(periodic.body["updated_at"].as_str() > renamed.body["created_at"].as_str());
}

#[tokio::test]
async fn an_invalid_patch_is_rejected_like_a_create_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let id = app.create_simulation(|_| {}).await;
    let path = format!("/v1/admin/simulations/{id}");
    let before = app.get(&path).await.body;

    for (patch, field) in [
        (json!({"agent_count": 3}), "agent_slots"),
        (json!({"interval_minutes": null}), "interval_minutes"),
        (
            json!({"table_config": {"initialStack": 19}}),
            "table_config.initialStack",
        ),
        (json!({"status": "running"}), "status"),
        (
            json!({"agent_slots": [{"type": "tight", "model": "openai:gpt-4o"}, {"type": "random"}]}),
            "agent_slots[0].model",
        ),
    ] {
        let response = app.patch(&path, patch.clone()).await;
        assert_eq!(
            response.status,
            StatusCode::BAD_REQUEST,
            "{patch}: {}",
            response.text
        );
        assert_eq!(response.code(), "validation_failed");
        assert_eq!(response.fields(), [field], "{patch}");
    }
    assert_eq!(app.get(&path).await.body, before);
}

#[tokio::test]
async fn delete_removes_the_config_and_its_runs() {
    let app = TestApp::spawn().await;
    let id = app.create_simulation(|_| {}).await;
    let keep = app.create_simulation(|_| {}).await;
    app.insert_run(&id, "completed", 5).await;
    app.insert_run(&keep, "completed", 5).await;
    let path = format!("/v1/admin/simulations/{id}");

    assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&path).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.count("simulation_runs").await,
        1,
        "only the other config's run is left"
    );
    let again = app.delete(&path).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(again.code(), "not_found");
}

#[tokio::test]
async fn agent_types_say_which_need_a_model() {
    let app = TestApp::spawn().await;
    let response = app.get("/v1/admin/simulations/agent-types").await;
    assert_eq!(response.status, StatusCode::OK);
    let types: Vec<(String, bool)> = response.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["type"].as_str().unwrap().to_owned(),
                t["requires_model"].as_bool().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("random", false),
        ("tight", false),
        ("callstation", false),
        ("autonomous", true),
        ("protocol", true),
        ("external", false),
        ("webhook", false),
    ]
    .map(|(t, m)| (t.to_owned(), m));
    assert_eq!(types, expected);
    assert!(
        response.body["items"][0]["description"]
            .as_str()
            .unwrap()
            .len()
            > 10
    );
}

/// Applies `edit` to a valid body, posts it, and returns the rejected fields.
async fn rejected_fields(app: &TestApp, edit: impl FnOnce(&mut Value)) -> Vec<String> {
    let mut body = valid_simulation();
    edit(&mut body);
    let response = app.post("/v1/admin/simulations", body.clone()).await;
    assert_eq!(
        response.status,
        StatusCode::BAD_REQUEST,
        "{body}: {}",
        response.text
    );
    assert_eq!(response.code(), "validation_failed", "{}", response.text);
    assert!(
        !response.body["error"]["message"]
            .as_str()
            .unwrap()
            .is_empty()
    );
    response.fields()
}

#[tokio::test]
async fn every_validation_rule_answers_400_naming_the_field() {
    let app = TestApp::spawn().await;
    type Edit = Box<dyn FnOnce(&mut Value)>;
    let cases: Vec<(&str, Edit, &[&str])> = vec![
        (
            "missing name",
            Box::new(|b| {
                b.as_object_mut().unwrap().remove("name");
            }),
            &["name"],
        ),
        (
            "blank name",
            Box::new(|b| b["name"] = json!("   ")),
            &["name"],
        ),
        (
            "long name",
            Box::new(|b| b["name"] = json!("x".repeat(101))),
            &["name"],
        ),
        (
            "one agent",
            Box::new(|b| b["agent_slots"] = json!([{"type": "random"}])),
            &["agent_slots"],
        ),
        (
            "ten agents",
            Box::new(|b| b["agent_slots"] = json!(vec![json!({"type": "random"}); 10])),
            &["agent_slots"],
        ),
        (
            "count mismatch",
            Box::new(|b| b["agent_count"] = json!(3)),
            &["agent_slots"],
        ),
        (
            "missing slots",
            Box::new(|b| {
                b.as_object_mut().unwrap().remove("agent_slots");
            }),
            &["agent_slots"],
        ),
        (
            "no tables",
            Box::new(|b| b["tables"] = json!(0)),
            &["tables"],
        ),
        (
            "51 tables",
            Box::new(|b| b["tables"] = json!(51)),
            &["tables"],
        ),
        (
            "tables with external seats",
            Box::new(|b| {
                b["tables"] = json!(2);
                b["agent_slots"][0] = json!({"type": "external"});
            }),
            &["tables"],
        ),
        (
            "unknown type",
            Box::new(|b| b["agent_slots"][0] = json!({"type": "shark"})),
            &["agent_slots[0].type"],
        ),
        (
            "llm type",
            Box::new(|b| b["agent_slots"][1] = json!({"type": "llm", "model": "openai:gpt-4o"})),
            &["agent_slots[1].type"],
        ),
        (
            "missing model",
            Box::new(|b| b["agent_slots"][3] = json!({"type": "protocol"})),
            &["agent_slots[3].model"],
        ),
        (
            "model without provider",
            Box::new(|b| b["agent_slots"][3]["model"] = json!("gpt-4o")),
            &["agent_slots[3].model"],
        ),
        (
            "unknown provider",
            Box::new(|b| b["agent_slots"][3]["model"] = json!("mistral:large")),
            &["agent_slots[3].model"],
        ),
        (
            "bot with model",
            Box::new(|b| b["agent_slots"][0]["model"] = json!("openai:gpt-4o")),
            &["agent_slots[0].model"],
        ),
        (
            "zero small blind",
            Box::new(|b| b["table_config"]["blinds"]["small"] = json!(0)),
            &["table_config.blinds.small"],
        ),
        (
            "big below small",
            Box::new(|b| b["table_config"]["blinds"]["big"] = json!(4)),
            &["table_config.blinds.big"],
        ),
        (
            "short stack",
            Box::new(|b| b["table_config"]["initialStack"] = json!(19)),
            &["table_config.initialStack"],
        ),
        (
            "fast timeout",
            Box::new(|b| b["table_config"]["actionTimeoutMs"] = json!(999)),
            &["table_config.actionTimeoutMs"],
        ),
        (
            "slow timeout",
            Box::new(|b| b["table_config"]["actionTimeoutMs"] = json!(120_001)),
            &["table_config.actionTimeoutMs"],
        ),
        (
            "missing table",
            Box::new(|b| {
                b.as_object_mut().unwrap().remove("table_config");
            }),
            &[
                "table_config.blinds.small",
                "table_config.blinds.big",
                "table_config.initialStack",
                "table_config.actionTimeoutMs",
            ],
        ),
        (
            "zero hands",
            Box::new(|b| b["max_hands"] = json!(0)),
            &["max_hands"],
        ),
        (
            "too many hands",
            Box::new(|b| b["max_hands"] = json!(10_001)),
            &["max_hands"],
        ),
        (
            "zero minutes",
            Box::new(|b| b["max_run_minutes"] = json!(0)),
            &["max_run_minutes"],
        ),
        (
            "long run",
            Box::new(|b| b["max_run_minutes"] = json!(721)),
            &["max_run_minutes"],
        ),
        (
            "periodic without interval",
            Box::new(|b| {
                b.as_object_mut().unwrap().remove("interval_minutes");
            }),
            &["interval_minutes"],
        ),
        (
            "interval too long",
            Box::new(|b| b["interval_minutes"] = json!(1441)),
            &["interval_minutes"],
        ),
        (
            "one_off with interval",
            Box::new(|b| b["schedule_type"] = json!("one_off")),
            &["interval_minutes"],
        ),
        (
            "unknown schedule",
            Box::new(|b| b["schedule_type"] = json!("weekly")),
            &["schedule_type"],
        ),
        (
            "negative cooldown",
            Box::new(|b| b["cooldown_minutes"] = json!(-1)),
            &["cooldown_minutes"],
        ),
        (
            "long cooldown",
            Box::new(|b| b["cooldown_minutes"] = json!(1441)),
            &["cooldown_minutes"],
        ),
        (
            "unknown pace",
            Box::new(|b| b["pace"] = json!("slow")),
            &["pace"],
        ),
        (
            "unknown field",
            Box::new(|b| b["nmae"] = json!("typo")),
            &["nmae"],
        ),
        (
            "status on create",
            Box::new(|b| b["status"] = json!("active")),
            &["status"],
        ),
        (
            "unknown nested field",
            Box::new(|b| b["table_config"]["ante"] = json!(1)),
            &["table_config.ante"],
        ),
        (
            "string for number",
            Box::new(|b| b["max_hands"] = json!("ten")),
            &["max_hands"],
        ),
        (
            "fraction",
            Box::new(|b| b["max_hands"] = json!(1.5)),
            &["max_hands"],
        ),
        ("array body", Box::new(|b| *b = json!([1, 2])), &["body"]),
        (
            "no budget",
            Box::new(|b| b["max_llm_cost_usd"] = json!(0)),
            &["max_llm_cost_usd"],
        ),
        (
            "a tenth of a cent",
            Box::new(|b| b["max_llm_cost_usd"] = json!(0.005)),
            &["max_llm_cost_usd"],
        ),
        (
            "huge budget",
            Box::new(|b| b["max_llm_cost_usd"] = json!(10_000.01)),
            &["max_llm_cost_usd"],
        ),
        (
            "budget as text",
            Box::new(|b| b["max_llm_cost_usd"] = json!("5")),
            &["max_llm_cost_usd"],
        ),
    ];
    for (name, edit, fields) in cases {
        let got = rejected_fields(&app, edit).await;
        assert_eq!(got, fields, "case {name:?}");
    }
    assert_eq!(
        app.count("simulation_configs").await,
        0,
        "nothing invalid was stored"
    );

    let llm = app
        .post("/v1/admin/simulations", {
            let mut b = valid_simulation();
            b["agent_slots"][0] = json!({"type": "shark"});
            b
        })
        .await;
    let message = llm.body["error"]["details"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("random, tight, callstation, autonomous, protocol"),
        "{message}"
    );
}

#[tokio::test]
async fn malformed_requests_get_a_clear_4xx() {
    let app = TestApp::spawn().await;
    let send = |content_type: Option<&str>, body: Vec<u8>| {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri("/v1/admin/simulations")
            .header(
                header::AUTHORIZATION,
                format!("Bearer {}", crate::helpers::TOKEN),
            );
        if let Some(ct) = content_type {
            request = request.header(header::CONTENT_TYPE, ct);
        }
        request.body(Body::from(body)).unwrap()
    };
    let json_ct = Some("application/json");
    let cases: Vec<(&str, Request<Body>, StatusCode, &str)> = vec![
        (
            "syntax error",
            send(json_ct, b"{\"name\": ".to_vec()),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "not json",
            send(json_ct, b"name=x".to_vec()),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "empty body",
            send(json_ct, Vec::new()),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "trailing garbage",
            send(json_ct, format!("{} x", valid_simulation()).into_bytes()),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "no content type",
            send(None, valid_simulation().to_string().into_bytes()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "form content type",
            send(Some("application/x-www-form-urlencoded"), b"a=b".to_vec()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "oversized",
            send(
                json_ct,
                format!("{{\"name\": \"{}\"}}", "x".repeat(70 * 1024)).into_bytes(),
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (name, request, status, code) in cases {
        let response = app.raw(request).await;
        assert_eq!(response.status, status, "{name}: {}", response.text);
        assert_eq!(response.code(), code, "{name}");
        assert!(
            !response.body["error"]["message"]
                .as_str()
                .unwrap_or("")
                .is_empty(),
            "{name}"
        );
    }
    let charset = app
        .raw(send(
            Some("application/json; charset=utf-8"),
            valid_simulation().to_string().into_bytes(),
        ))
        .await;
    assert_eq!(
        charset.status,
        StatusCode::CREATED,
        "a charset parameter is fine"
    );

    for (path, status, code) in [
        (
            "/v1/admin/simulations/not-an-id",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/v1/admin/simulations/sim_00000000000000000000000000000000",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/v1/admin/simulations?limit=0",
            StatusCode::BAD_REQUEST,
            "validation_failed",
        ),
        (
            "/v1/admin/simulations?limit=201",
            StatusCode::BAD_REQUEST,
            "validation_failed",
        ),
        (
            "/v1/admin/simulations?limit=ten",
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            "/v1/admin/simulations?cursor=bogus",
            StatusCode::BAD_REQUEST,
            "invalid_cursor",
        ),
        ("/v1/admin/nothing-here", StatusCode::NOT_FOUND, "not_found"),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status, status, "{path}: {}", response.text);
        assert_eq!(response.code(), code, "{path}");
    }
    let wrong_method = app
        .call(
            Method::PUT,
            "/v1/admin/simulations",
            Some(json!({})),
            Auth::Token,
        )
        .await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong_method.code(), "method_not_allowed");
    assert_eq!(app.count("simulation_configs").await, 1);
}

#[tokio::test]
async fn an_llm_budget_is_stored_shown_changed_and_cleared() {
    let app = TestApp::spawn().await;
    let id = app
        .create_simulation(|b| b["max_llm_cost_usd"] = json!(2.5))
        .await;
    let detail = app.get(&format!("/v1/admin/simulations/{id}")).await;
    assert_eq!(detail.body["simulation"]["max_llm_cost_usd"], 2.5);
    let changed = app
        .patch(
            &format!("/v1/admin/simulations/{id}"),
            json!({"max_llm_cost_usd": 0.07}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    assert_eq!(changed.body["max_llm_cost_usd"], 0.07);
    let untouched = app
        .patch(
            &format!("/v1/admin/simulations/{id}"),
            json!({"max_hands": 30}),
        )
        .await;
    assert_eq!(untouched.body["max_llm_cost_usd"], 0.07, "absent leaves it");
    let cleared = app
        .patch(
            &format!("/v1/admin/simulations/{id}"),
            json!({"max_llm_cost_usd": null}),
        )
        .await;
    assert_eq!(cleared.body["max_llm_cost_usd"], Value::Null);
}
