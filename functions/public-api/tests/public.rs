//! The public router against a real PostgreSQL with real hands, played by the real runner:
//! every route and error, caching, the secrecy of hole cards in every response and stream
//! frame, a live hand reaching watchers action by action, and the read-only role.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use public_api::{PublicState, Transport};
use runner_task::run::{Outcome, Runner, Signals};
use runner_task::settings::RunnerSettings;
use serde_json::{Value, json};
use simrunner::domain::RunId;
use simrunner::settings::Secret;
use simrunner::testing::{TestDatabase, bot_simulation, fresh_database, queued_run};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::ServiceExt as _;

fn router(pool: deadpool_postgres::Pool) -> Router {
    public_api::app(PublicState::new(
        pool,
        Transport::Sse,
        Duration::from_millis(50),
    ))
    .0
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
    json: Value,
}

async fn get_with(router: &Router, path: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = Request::builder().uri(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Answer {
        status,
        headers,
        json: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    }
}

async fn get(router: &Router, path: &str) -> Answer {
    get_with(router, path, &[]).await
}

/// Plays a run of `slots` with the real runner, in this process; returns its table's id.
async fn play(db: &TestDatabase, slots: &[&str], pace: &str, hands: i64) -> (Runner, String) {
    let config = bot_simulation(db, slots, pace, hands, (5, 10), 1_000).await;
    let run = queued_run(db, &config, Some(11)).await;
    let runner = runner(db, &run);
    (runner, run.to_string())
}

fn runner(db: &TestDatabase, run: &RunId) -> Runner {
    Runner {
        pool: db.pool.clone(),
        settings: RunnerSettings {
            run_id: run.clone(),
            database_url: Secret::new(db.url.clone()),
            runner_id: "public-tests".into(),
            log_retention: 5,
            heartbeat_every: Duration::from_secs(1),
            keyring: None,
            base_urls: Default::default(),
            prices: Default::default(),
            agent_gateway: runner_task::settings::AgentGateway::Notify,
            webhook_policy: Default::default(),
        },
        signals: Arc::new(Signals::default()),
    }
}

async fn table_of(db: &TestDatabase, run: &str) -> String {
    let client = db.pool.get().await.unwrap();
    client
        .query_one(
            "SELECT table_id FROM simulation_runs WHERE id = $1",
            &[&run],
        )
        .await
        .unwrap()
        .get(0)
}

/// Plays a whole fast run and returns its table.
async fn finished_table(db: &TestDatabase, slots: &[&str], hands: i64) -> String {
    let (runner, run) = play(db, slots, "fast", hands).await;
    assert_eq!(runner.execute().await.unwrap(), Outcome::Completed);
    table_of(db, &run).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_with_cache_headers_and_errors_in_the_house_format() {
    let db = fresh_database().await;
    let table = finished_table(&db, &["tight", "callstation", "random"], 40).await;
    let app = router(db.pool.clone());

    let list = get(&app, "/v1/public/tables").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    let item = &list.json["items"][0];
    assert_eq!(
        (item["id"].as_str(), item["status"].as_str()),
        (Some(table.as_str()), Some("ended"))
    );
    assert_eq!(item["seats"].as_array().unwrap().len(), 3);
    assert_eq!(item["blinds"], json!({"small": 5, "big": 10}));
    assert_eq!(list.json["counts"], json!({"live": 0, "ended": 1}));
    assert_eq!(list.headers[header::CACHE_CONTROL], "public, max-age=1");
    let etag = list.headers[header::ETAG].to_str().unwrap().to_owned();
    let again = get_with(&app, "/v1/public/tables", &[("if-none-match", &etag)]).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.text.is_empty());
    assert_eq!(
        get(&app, "/v1/public/tables?status=live").await.json["items"],
        json!([])
    );

    for (query, code) in [
        ("status=playing", "invalid_query"),
        ("limit=0", "invalid_query"),
        ("limit=101", "invalid_query"),
        ("cursor=not-a-cursor", "invalid_cursor"),
        ("colour=red", "invalid_query"),
    ] {
        let bad = get(&app, &format!("/v1/public/tables?{query}")).await;
        assert_eq!(
            (bad.status, bad.json["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some(code)),
            "{query}"
        );
    }

    // Paging: newest activity first, a cursor to the rest.
    let second = finished_table(&db, &["callstation", "callstation"], 5).await;
    let page = get(&app, "/v1/public/tables?limit=1").await;
    assert_eq!(page.json["items"][0]["id"], second.as_str());
    let cursor = page.json["next_cursor"].as_str().unwrap();
    let rest = get(&app, &format!("/v1/public/tables?limit=1&cursor={cursor}")).await;
    assert_eq!(rest.json["items"][0]["id"], table.as_str());
    assert_eq!(rest.json["next_cursor"], Value::Null);

    let detail = get(&app, &format!("/v1/public/tables/{table}")).await;
    assert_eq!(detail.status, StatusCode::OK);
    assert_eq!(
        detail.headers[header::CACHE_CONTROL],
        "public, max-age=86400",
        "ended: cached long"
    );
    assert_eq!(detail.json["state"]["street"], "over");
    assert!(detail.json["last_seq"].as_i64().unwrap() > 100);
    let missing = get(
        &app,
        "/v1/public/tables/tbl_00000000000000000000000000000000",
    )
    .await;
    assert_eq!(
        (missing.status, missing.json["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );

    // The feed, page by page, in order, ending with the table's end.
    let mut after = 0;
    let mut seqs = Vec::new();
    loop {
        let page = get(
            &app,
            &format!("/v1/public/tables/{table}/events?after={after}&limit=100"),
        )
        .await;
        assert_eq!(page.status, StatusCode::OK);
        seqs.extend(
            page.json["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["seq"].as_i64().unwrap()),
        );
        after = page.json["next_after"].as_i64().unwrap();
        if page.json["has_more"] == false {
            assert_eq!(
                page.json["events"].as_array().unwrap().last().unwrap()["type"],
                "table_ended"
            );
            break;
        }
    }
    assert_eq!(
        seqs,
        (1..=after).collect::<Vec<_>>(),
        "every event once, in order"
    );
    // The largest cursor there is: nothing after it (the fuzzer once found a 500 here).
    let end = get(
        &app,
        &format!(
            "/v1/public/tables/{table}/events?after={}&limit=1",
            i64::MAX
        ),
    )
    .await;
    assert_eq!(end.status, StatusCode::OK, "{}", end.json);
    assert_eq!(end.json["events"], serde_json::json!([]));
    for query in ["limit=501", "after=-1", "after=x"] {
        let bad = get(&app, &format!("/v1/public/tables/{table}/events?{query}")).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{query}");
    }

    let hands = get(&app, &format!("/v1/public/tables/{table}/hands?limit=10")).await;
    let items = hands.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 10);
    assert!(
        items[0]["number"].as_i64() > items[1]["number"].as_i64(),
        "newest first"
    );
    let cursor = hands.json["next_cursor"].as_str().unwrap();
    let older = get(
        &app,
        &format!("/v1/public/tables/{table}/hands?limit=10&cursor={cursor}"),
    )
    .await;
    assert_eq!(
        older.json["items"][0]["number"],
        items[9]["number"].as_i64().unwrap() - 1
    );
    let id = items[0]["id"].as_str().unwrap();
    let hand = get(&app, &format!("/v1/public/hands/{id}")).await;
    assert_eq!(hand.status, StatusCode::OK);
    assert_eq!(hand.headers[header::CACHE_CONTROL], "public, max-age=86400");
    assert!(hand.json["first_seq"].as_i64().is_some());
    for bad in ["nope", &format!("{table}-0"), &format!("{table}-x")] {
        for format in ["", "?format=phh"] {
            assert_eq!(
                get(&app, &format!("/v1/public/hands/{bad}{format}"))
                    .await
                    .status,
                StatusCode::NOT_FOUND,
                "{bad}{format}"
            );
        }
    }

    // The same hand as a PHH document, cached like the JSON.
    let number = items[0]["number"].as_i64().unwrap();
    let phh = get(&app, &format!("/v1/public/hands/{id}?format=phh")).await;
    assert_eq!(phh.status, StatusCode::OK, "{}", phh.text);
    assert_eq!(
        phh.headers[header::CONTENT_TYPE],
        "text/plain; charset=utf-8"
    );
    assert_eq!(phh.headers[header::CACHE_CONTROL], "public, max-age=86400");
    assert!(phh.text.starts_with("variant = \"NT\"\n"), "{}", phh.text);
    for field in [
        format!("table = \"{table}\"\n"),
        format!("hand = {number}\n"),
        "blinds_or_straddles = [5, 10".to_owned(),
        "min_bet = 10\n".to_owned(),
        "time_zone = \"UTC\"\n".to_owned(),
    ] {
        assert!(phh.text.contains(&field), "{field} in {}", phh.text);
    }
    let etag = phh.headers[header::ETAG].to_str().unwrap().to_owned();
    let again = get_with(
        &app,
        &format!("/v1/public/hands/{id}?format=phh"),
        &[("if-none-match", &etag)],
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    let json = get(&app, &format!("/v1/public/hands/{id}?format=json")).await;
    assert_eq!(json.json["number"], number);
    for query in ["format=xml", "format=phh&colour=red"] {
        let bad = get(&app, &format!("/v1/public/hands/{id}?{query}")).await;
        assert_eq!(
            (bad.status, bad.json["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_query")),
            "{query}"
        );
    }

    // Every finished hand as one .phhs download (the watch page links it), or a range.
    let watch = get(&app, &format!("/watch/{table}")).await;
    assert!(watch.text.contains(&format!(
        "href=\"/v1/public/tables/{table}/hands.phhs\" download"
    )));
    let all = get(&app, &format!("/v1/public/tables/{table}/hands.phhs")).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    assert_eq!(
        all.headers[header::CONTENT_DISPOSITION],
        format!("attachment; filename=\"{table}.phhs\"").as_str()
    );
    assert_eq!(all.headers[header::CACHE_CONTROL], "public, max-age=86400");
    assert_eq!(all.headers[header::VARY], "accept-encoding");
    let played = detail.json["hands_played"].as_i64().unwrap();
    assert_eq!(all.text.matches("variant = \"NT\"").count() as i64, played);
    // Gzipped for clients that accept it, with its own ETag.
    let path = format!("/v1/public/tables/{table}/hands.phhs");
    let response = app
        .clone()
        .oneshot(
            Request::builder()
                .uri(&path)
                .header(header::ACCEPT_ENCODING, "gzip, deflate")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.headers()[header::CONTENT_ENCODING], "gzip");
    assert_ne!(response.headers()[header::ETAG], all.headers[header::ETAG]);
    let gzipped = response.into_body().collect().await.unwrap().to_bytes();
    assert!(gzipped.len() * 5 < all.text.len());
    let mut unzipped = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(&gzipped[..]),
        &mut unzipped,
    )
    .unwrap();
    assert_eq!(unzipped, all.text);
    let part = get(
        &app,
        &format!("/v1/public/tables/{table}/hands.phhs?from=3&to=5"),
    )
    .await;
    let headers: Vec<&str> = part.text.lines().filter(|l| l.starts_with('[')).collect();
    assert_eq!(headers, ["[3]", "[4]", "[5]"]);
    let section = &all.text[all.text.find("[3]\n").unwrap()..all.text.find("[6]\n").unwrap()];
    assert_eq!(part.text, section, "a range is the same hands as the whole");
    for (query, status) in [
        ("from=5&to=3", StatusCode::BAD_REQUEST),
        ("from=0", StatusCode::BAD_REQUEST),
        ("to=x", StatusCode::BAD_REQUEST),
        ("colour=red", StatusCode::BAD_REQUEST),
    ] {
        let bad = get(
            &app,
            &format!("/v1/public/tables/{table}/hands.phhs?{query}"),
        )
        .await;
        assert_eq!(bad.status, status, "{query}");
        assert_eq!(bad.json["error"]["code"], "invalid_query", "{query}");
    }
    let missing = get(
        &app,
        "/v1/public/tables/tbl_00000000000000000000000000000000/hands.phhs",
    )
    .await;
    assert_eq!(missing.json["error"]["code"], "not_found");
}

/// Every card code in a text.
fn cards_in(text: &str) -> HashSet<String> {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(1))
        .filter(|&i| b"23456789TJQKA".contains(&bytes[i]) && b"cdhs".contains(&bytes[i + 1]))
        .filter(|&i| {
            (i == 0 || !bytes[i - 1].is_ascii_alphanumeric())
                && (i + 2 >= bytes.len() || !bytes[i + 2].is_ascii_alphanumeric())
        })
        .map(|i| text[i..i + 2].to_owned())
        .collect()
}

/// The cards a PHH document names (in `d dh`, `d db` and `sm` actions, written together
/// as in `AsKd`; `??` is a hidden card).
fn phh_cards(text: &str) -> HashSet<String> {
    text.split('"')
        .filter_map(
            |action| match action.split_whitespace().collect::<Vec<_>>()[..] {
                ["d", "dh", _, cards] | ["d", "db", cards] | [_, "sm", cards] => Some(cards),
                _ => None,
            },
        )
        .flat_map(|cards| cards.as_bytes().chunks(2))
        .map(|card| String::from_utf8_lossy(card).into_owned())
        .filter(|card| card != "??")
        .collect()
}

/// A `.phhs` file's hands: (number, its document).
fn phhs_hands(text: &str) -> Vec<(i64, String)> {
    let mut hands: Vec<(i64, String)> = Vec::new();
    for line in text.lines() {
        match line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            Some(number) => hands.push((number.parse().unwrap(), String::new())),
            None => {
                let (_, document) = hands.last_mut().expect("a hand's table comes first");
                document.push_str(line);
                document.push('\n');
            }
        }
    }
    hands
}

/// No hand in a PHH export names a card of a seat that did not show down; the cards of
/// those who did are there.
fn assert_secret_phh(hands: &[(i64, String)], holes: &HoleCards, source: &str) {
    for (number, document) in hands {
        let found = phh_cards(document);
        for (seat, cards, showed) in &holes[number] {
            for card in cards {
                assert_eq!(
                    found.contains(card),
                    *showed,
                    "{source}: hand {number}, seat {seat}, card {card}: {document}"
                );
            }
        }
    }
}

/// Each hand's hole cards by seat, and which seats showed them (from the admin side).
async fn hole_cards(db: &TestDatabase, table: &str) -> HoleCards {
    let client = db.pool.get().await.unwrap();
    let rows = client
        .query(
            "SELECT number, results::text FROM hands WHERE table_id = $1",
            &[&table],
        )
        .await
        .unwrap();
    rows.iter()
        .map(|row| {
            let results: Value = serde_json::from_str(row.get::<_, &str>(1)).unwrap();
            let seats = results
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    let cards = r["hole"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|c| c.as_str().unwrap().to_owned())
                        .collect();
                    (r["seat"].as_i64().unwrap(), cards, !r["rank"].is_null())
                })
                .collect();
            (row.get::<_, i64>(0), seats)
        })
        .collect()
}

/// Per hand number: each seat's hole cards and whether that seat showed them down.
type HoleCards = HashMap<i64, Vec<(i64, Vec<String>, bool)>>;

/// No card of a seat that did not show down may appear for its hand; shown cards appear
/// only in that seat's showdown event.
fn assert_secret(events: &[Value], holes: &HoleCards, source: &str) {
    for event in events {
        let Some(hand) = event["hand"].as_i64() else {
            continue;
        };
        let Some(seats) = holes.get(&hand) else {
            continue;
        };
        let found = cards_in(&event["data"].to_string());
        for (seat, cards, showed) in seats {
            for card in cards {
                if !found.contains(card) {
                    continue;
                }
                let allowed =
                    *showed && event["type"] == "showdown" && event["data"]["seat"] == *seat;
                assert!(
                    allowed,
                    "{source}: hole card {card} of seat {seat} in hand {hand} leaked: {event}"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_public_response_or_frame_shows_a_card_that_was_not_shown_down() {
    let db = fresh_database().await;
    let table = finished_table(&db, &["tight", "callstation", "random", "callstation"], 60).await;
    let holes = hole_cards(&db, &table).await;
    assert!(
        holes.values().any(|seats| seats.iter().any(|s| s.2)),
        "some hands reached showdown"
    );
    assert!(
        holes.values().any(|seats| seats.iter().any(|s| !s.2)),
        "some cards stayed hidden"
    );
    let app = router(db.pool.clone());

    // The feed as JSON pages.
    let mut events = Vec::new();
    let mut after = 0;
    loop {
        let page = get(
            &app,
            &format!("/v1/public/tables/{table}/events?after={after}&limit=500"),
        )
        .await;
        events.extend(page.json["events"].as_array().unwrap().iter().cloned());
        after = page.json["next_after"].as_i64().unwrap();
        if page.json["has_more"] == false {
            break;
        }
    }
    assert_secret(&events, &holes, "events");

    // The same feed as Server-Sent Events: every frame, until `end`.
    let response = app
        .clone()
        .oneshot(
            Request::builder()
                .uri(format!("/v1/public/tables/{table}/stream?after=0"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/event-stream"
    );
    let mut body = response.into_body();
    let mut text = String::new();
    while !text.contains("event: end") {
        let frame = tokio::time::timeout(Duration::from_secs(10), body.frame())
            .await
            .expect("frames keep coming")
            .unwrap()
            .unwrap();
        if let Some(data) = frame.data_ref() {
            text.push_str(&String::from_utf8_lossy(data));
        }
    }
    let frames: Vec<Value> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str(d).ok())
        .filter(|v: &Value| v.get("seq").is_some())
        .collect();
    assert_eq!(
        frames.len(),
        events.len(),
        "the stream carries the whole feed"
    );
    assert!(text.contains(&format!("id: {}", events.len())));
    assert_secret(&frames, &holes, "stream");

    // Finished hands show only what was shown.
    let mut cursor = String::new();
    loop {
        let page = get(
            &app,
            &format!("/v1/public/tables/{table}/hands?limit=100{cursor}"),
        )
        .await;
        for hand in page.json["items"].as_array().unwrap() {
            let number = hand["number"].as_i64().unwrap();
            let text = hand.to_string();
            for (seat, cards, showed) in &holes[&number] {
                for card in cards {
                    let shown_here = hand["shown"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|s| s["seat"] == *seat);
                    assert_eq!(
                        cards_in(&text).contains(card),
                        *showed && shown_here,
                        "hand {number} seat {seat} card {card}"
                    );
                }
            }
        }
        match page.json["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    // The PHH exports: the table's download and each hand alone.
    let phhs = get(&app, &format!("/v1/public/tables/{table}/hands.phhs")).await;
    let hands = phhs_hands(&phhs.text);
    assert_eq!(hands.len(), holes.len());
    assert_secret_phh(&hands, &holes, "hands.phhs");
    for (number, _) in &hands {
        let document = get(
            &app,
            &format!("/v1/public/hands/{table}-{number}?format=phh"),
        )
        .await;
        assert_secret_phh(&[(*number, document.text)], &holes, "format=phh");
    }

    // And the pages.
    let last_hand = holes.keys().max().unwrap();
    for path in [
        format!("/watch/{table}"),
        "/tables".into(),
        format!("/v1/public/tables/{table}"),
    ] {
        let page = get(&app, &path).await;
        let found = cards_in(&page.text);
        for (seat, cards, showed) in &holes[last_hand] {
            for card in cards.iter().filter(|_| !showed) {
                assert!(
                    !found.contains(card),
                    "{path}: hidden card {card} of seat {seat}"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_hand_reaches_watchers_action_by_action_with_its_cards_hidden() {
    let db = fresh_database().await;
    let (runner, run) = play(&db, &["callstation", "tight"], "live", 3).await;
    let playing = tokio::spawn(async move { runner.execute().await.unwrap() });
    let started = Instant::now();
    let table = loop {
        let client = db.pool.get().await.unwrap();
        let row = client
            .query_one(
                "SELECT table_id FROM simulation_runs WHERE id = $1",
                &[&run],
            )
            .await
            .unwrap();
        if let Some(table) = row.get::<_, Option<String>>(0) {
            break table;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the runner never opened its table"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let app = router(db.pool.clone());
    let response = app
        .clone()
        .oneshot(
            Request::builder()
                .uri(format!("/v1/public/tables/{table}/stream?after=0"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let mut body = response.into_body();
    // (when it arrived, the event)
    let mut arrivals: Vec<(Instant, Value)> = Vec::new();
    let mut pending = String::new();
    let mut mid_hand_checked = false;
    let mut mid_hand_page = String::new();
    // The table's PHH export read while a later hand was being played: (that hand, the
    // export), kept once the database shows the hand was still unfinished after the read.
    let mut mid_hand_phhs: Option<(i64, String)> = None;
    let mut tried = HashSet::new();
    while !pending.contains("event: end") {
        let frame = tokio::time::timeout(Duration::from_secs(30), body.frame())
            .await
            .expect("the live feed moves")
            .unwrap()
            .unwrap();
        let Some(data) = frame.data_ref() else {
            continue;
        };
        pending.push_str(&String::from_utf8_lossy(data));
        for line in pending.lines().filter_map(|l| l.strip_prefix("data: ")) {
            if let Ok(event) = serde_json::from_str::<Value>(line)
                && event.get("seq").is_some()
                && !arrivals.iter().any(|(_, e)| e["seq"] == event["seq"])
            {
                arrivals.push((Instant::now(), event));
            }
        }
        // While the first hand is being played, the table's state shows no cards.
        let in_hand_one = arrivals
            .iter()
            .any(|(_, e)| e["type"] == "action" && e["hand"] == 1)
            && !arrivals.iter().any(|(_, e)| {
                e["hand"] == 1 && (e["type"] == "showdown" || e["type"] == "hand_complete")
            });
        if in_hand_one && !mid_hand_checked {
            mid_hand_checked = true;
            let detail = get(&app, &format!("/v1/public/tables/{table}")).await;
            assert_eq!(detail.json["state"]["hand"], 1);
            for seat in detail.json["state"]["seats"].as_array().unwrap() {
                assert_eq!(seat["cards"], Value::Null, "no hole card mid-hand: {seat}");
            }
            mid_hand_page = get(&app, &format!("/watch/{table}")).await.text;
            assert!(mid_hand_page.contains("card back"), "cards face down");
        }
        let started = arrivals
            .iter()
            .filter(|(_, e)| e["type"] == "hand_started")
            .filter_map(|(_, e)| e["hand"].as_i64())
            .max();
        if let Some(hand) = started.filter(|&n| n >= 2 && tried.insert(n))
            && mid_hand_phhs.is_none()
        {
            let phhs = get(&app, &format!("/v1/public/tables/{table}/hands.phhs")).await;
            let alone = get(&app, &format!("/v1/public/hands/{table}-{hand}?format=phh")).await;
            let client = db.pool.get().await.unwrap();
            let finished: i64 = client
                .query_one(
                    "SELECT count(*) FROM hands WHERE table_id = $1 AND number = $2",
                    &[&table, &hand],
                )
                .await
                .unwrap()
                .get(0);
            if finished == 0 {
                assert_eq!(
                    alone.status,
                    StatusCode::NOT_FOUND,
                    "an unfinished hand has no PHH"
                );
                mid_hand_phhs = Some((hand, phhs.text));
            }
        }
    }
    playing.await.unwrap();
    assert!(mid_hand_checked, "the test saw the first hand in progress");
    let hand_one: Vec<&(Instant, Value)> =
        arrivals.iter().filter(|(_, e)| e["hand"] == 1).collect();
    let actions: Vec<Instant> = hand_one
        .iter()
        .filter(|(_, e)| e["type"] == "action")
        .map(|(at, _)| *at)
        .collect();
    let complete = hand_one
        .iter()
        .find(|(_, e)| e["type"] == "hand_complete")
        .expect("hand 1 completes")
        .0;
    assert!(actions.len() >= 2, "{hand_one:?}");
    // Live pace thinks 0.5 s or more per action: they arrive one by one, before the end.
    for pair in actions.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(300),
            "actions arrived together: {:?}",
            pair[1] - pair[0]
        );
    }
    assert!(actions[0] < complete && complete - actions[0] >= Duration::from_millis(300));
    let holes = hole_cards(&db, &table).await;
    let on_page = cards_in(&mid_hand_page);
    for (seat, cards, _) in &holes[&1] {
        for card in cards {
            assert!(
                !on_page.contains(card),
                "the page showed {card} of seat {seat} mid-hand"
            );
        }
    }
    let events: Vec<Value> = arrivals.into_iter().map(|(_, e)| e).collect();
    assert_secret(&events, &holes, "live stream");
    // Exported mid-hand: the finished hands only (showing what was shown), not the one
    // being played.
    let (unfinished, phhs) = mid_hand_phhs.expect("the test read the export mid-hand");
    let hands = phhs_hands(&phhs);
    assert_eq!(
        hands.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        (1..unfinished).collect::<Vec<_>>(),
        "{phhs}"
    );
    assert_secret_phh(&hands, &holes, "hands.phhs mid-hand");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_read_only_role_reads_the_public_views_and_nothing_else() {
    let db = fresh_database().await;
    let table = finished_table(&db, &["tight", "callstation"], 10).await;
    let login = format!("public_reader_{}", uuid_suffix());
    let admin = db.pool.get().await.unwrap();
    admin
        .batch_execute(&format!(
            "CREATE ROLE {login} LOGIN IN ROLE simrunner_public"
        ))
        .await
        .unwrap();
    let url = db
        .url
        .replacen("postgres://postgres@", &format!("postgres://{login}@"), 1);
    let reader = simrunner::db::build_pool(&url, 2).unwrap();

    // The whole public router works on the read-only login.
    let app = router(reader.clone());
    for path in [
        "/v1/public/tables".to_owned(),
        format!("/v1/public/tables/{table}"),
        format!("/v1/public/tables/{table}/events?after=0"),
        format!("/v1/public/tables/{table}/hands"),
        format!("/v1/public/hands/{table}-1"),
        format!("/v1/public/hands/{table}-1?format=phh"),
        format!("/v1/public/tables/{table}/hands.phhs"),
        format!("/watch/{table}"),
        "/tables".to_owned(),
    ] {
        assert_eq!(get(&app, &path).await.status, StatusCode::OK, "{path}");
    }

    let client = reader.get().await.unwrap();
    for sql in [
        "SELECT * FROM provider_api_keys",
        "SELECT * FROM run_log_entries",
        "SELECT * FROM simulation_configs",
        "SELECT * FROM simulation_runs",
        "SELECT results FROM hands",
        "SELECT * FROM table_events",
        "INSERT INTO table_events (table_id, seq, kind, payload) VALUES ('x', 1, 'action', '{}')",
        "UPDATE tables SET status = 'ended'",
        "DELETE FROM public_table_events",
        "CREATE TABLE mine (x int)",
    ] {
        let error = client.batch_execute(sql).await.expect_err(sql);
        let code = error
            .code()
            .map(|c| c.code().to_owned())
            .unwrap_or_default();
        assert!(code == "42501" || code == "55000", "{sql}: {error:?}");
    }
    drop(client);
    drop(admin);
}

fn uuid_suffix() -> String {
    format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_escape_what_users_wrote_and_carry_the_security_headers() {
    let db = fresh_database().await;
    let config = bot_simulation(&db, &["callstation", "callstation"], "fast", 3, (1, 2), 100).await;
    let client = db.pool.get().await.unwrap();
    client
        .execute(
            "UPDATE simulation_configs SET name = '<img src=x onerror=alert(1)>' WHERE id = $1",
            &[&config.as_str()],
        )
        .await
        .unwrap();
    let run = queued_run(&db, &config, None).await;
    assert_eq!(
        runner(&db, &run).execute().await.unwrap(),
        Outcome::Completed
    );
    let table = table_of(&db, run.as_str()).await;
    let app = router(db.pool.clone());

    for path in ["/tables".to_owned(), format!("/watch/{table}")] {
        let page = get(&app, &path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(
            page.text.contains("&lt;img src=x onerror=alert(1)&gt;")
                || page.text.contains("&#60;img"),
            "{path}: {}",
            page.text
        );
        assert!(!page.text.contains("<img src=x"), "{path} is not escaped");
        let csp = page.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
        assert_eq!(page.headers["x-content-type-options"], "nosniff");
        assert_eq!(page.headers["x-frame-options"], "DENY");
        assert!(!page.text.contains("<script>"), "no inline script");
        // Every script and stylesheet is ours, served from /assets with a long cache.
        let assets: Vec<&str> = page
            .text
            .split('"')
            .filter(|part| part.starts_with("/assets/"))
            .collect();
        assert!(
            assets.len() >= 3,
            "a stylesheet and two scripts: {assets:?}"
        );
        for url in assets {
            let asset = get(&app, url).await;
            assert_eq!(asset.status, StatusCode::OK, "{url}");
            assert_eq!(
                asset.headers[header::CACHE_CONTROL],
                "public, max-age=31536000, immutable"
            );
        }
    }
    let home = get(&app, "/").await;
    assert_eq!(
        (
            home.status,
            home.headers[header::LOCATION].to_str().unwrap()
        ),
        (StatusCode::SEE_OTHER, "/tables")
    );
    assert_eq!(
        get(&app, "/watch/tbl_00000000000000000000000000000000")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, "/assets/app.0000.css").await.status,
        StatusCode::NOT_FOUND
    );
    let empty = router(fresh_database().await.pool.clone());
    let none = get(&empty, "/tables").await;
    assert!(
        none.text.contains("No tables yet"),
        "an empty state that says what to do"
    );
}
