use base64::Engine as _;
use chrono::{DateTime, Utc};

/// Where a page of a newest-first listing ends: the last row's creation time and id.
/// Opaque to clients (base64url), stable under inserts (keyset paging, not offsets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: DateTime<Utc>,
    pub id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
            "{}.{}",
            self.created_at.timestamp_micros(),
            self.id
        ))
    }

    /// `None` for anything [`Cursor::encode`] did not produce.
    pub fn decode(text: &str) -> Option<Self> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (micros, id) = text.split_once('.')?;
        let created_at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
        (!id.is_empty() && id.len() <= 64).then(|| Self {
            created_at,
            id: id.to_owned(),
        })
    }
}

/// Which page to read: at most `limit` rows older than `after`.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub limit: i64,
    pub after: Option<Cursor>,
}

/// One page and the cursor of the next one, if there is more.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows: the extra row only says "there is more".
    pub(crate) fn from_rows(mut items: Vec<T>, limit: i64, key: impl Fn(&T) -> Cursor) -> Self {
        let limit = usize::try_from(limit).unwrap_or(0);
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(key)
        } else {
            None
        };
        Self { items, next }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_rejected() {
        let cursor = Cursor {
            created_at: DateTime::from_timestamp_micros(1_763_000_000_123_456).unwrap(),
            id: "sim_0123".into(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        for bad in ["", "!!!", "bm90LWEtY3Vyc29y", "MTIzLg"] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_extra_row_becomes_the_next_cursor_and_is_dropped() {
        let at = DateTime::from_timestamp_micros(0).unwrap();
        let key = |i: &i32| Cursor {
            created_at: at,
            id: i.to_string(),
        };
        let page = Page::from_rows(vec![1, 2, 3], 2, key);
        assert_eq!(page.items, [1, 2]);
        assert_eq!(page.next.unwrap().id, "2");
        assert!(Page::from_rows(vec![1, 2], 2, key).next.is_none());
    }
}
