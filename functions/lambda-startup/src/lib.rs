//! A Lambda function whose settings are wrong must say so to whoever invokes it.
//!
//! Exiting at start-up does not: `cargo lambda watch` neither answers the pending invocation
//! nor restarts the function, so `cargo lambda invoke` waits forever, and AWS Lambda tells
//! its invoker only `Runtime.ExitError` (the reason is in the log alone). The Runtime API's
//! `/runtime/init/error` is no better here: `lambda_runtime` 1.x posts to it only for
//! SnapStart hooks, and `cargo lambda watch` answers it to one pending invocation, after
//! which the exited function leaves the next one waiting. So the function starts its runtime
//! anyway and answers every invocation with the error: the invoker gets the message and the
//! log has it once.

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use std::fmt::Display;

/// The `errorType` invocations are answered with.
pub const ERROR_TYPE: &str = "StartupFailed";

/// Logs `error`, then serves the Lambda Runtime API, answering every invocation (whatever
/// its event) with `error` as its `errorMessage`. Returns only if the runtime does.
pub async fn answer_every_invocation_with(
    error: impl Display,
) -> Result<(), lambda_runtime::Error> {
    let message = format!("the function could not start: {error}");
    tracing::error!("{message}");
    let answer = Diagnostic {
        error_type: ERROR_TYPE.into(),
        error_message: message,
    };
    lambda_runtime::run(service_fn(move |_: LambdaEvent<serde_json::Value>| {
        let answer = answer.clone();
        async move { Err::<(), _>(answer) }
    }))
    .await
}
