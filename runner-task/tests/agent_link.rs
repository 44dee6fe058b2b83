//! The runner's link to agents' connections in AWS: the API Gateway management API, through
//! the real SDK, against moto.

use runner_task::outside::link::{AgentLink, Delivered, Outgoing};
use simrunner::testing::{moto_config, moto_endpoint};

#[tokio::test]
async fn messages_and_closes_reach_the_management_api() {
    let link = AgentLink::api_gateway(&moto_config().await, moto_endpoint());
    let delivered = link
        .deliver(&[
            Outgoing::Text {
                connection: "conn-a".into(),
                text: r#"{"type":"welcome"}"#.into(),
                fresh: true,
            },
            Outgoing::Text {
                connection: "conn-a".into(),
                text: r#"{"type":"game_state"}"#.into(),
                fresh: false,
            },
            Outgoing::Close {
                connection: "conn-b".into(),
            },
        ])
        .await;
    // moto answered every call (POST and DELETE @connections/{id}) through the real SDK.
    assert_eq!(
        delivered,
        Delivered {
            sent: 3,
            gone: 0,
            failed: 0
        }
    );
}

#[tokio::test]
async fn an_unreachable_management_api_is_counted_not_fatal() {
    let config = moto_config().await;
    let link = AgentLink::api_gateway(&config, "http://127.0.0.1:9");
    let delivered = link
        .deliver(&[Outgoing::Text {
            connection: "conn".into(),
            text: "{}".into(),
            fresh: false,
        }])
        .await;
    assert_eq!((delivered.sent, delivered.failed), (0, 1));
}
