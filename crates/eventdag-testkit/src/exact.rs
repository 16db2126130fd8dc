//! Payloads read back exactly as sent (issue 13): random JSON texts —
//! doubles in their shortest digits, integers beyond 64 bits, exponents,
//! trailing zeros, unicode and escapes, duplicate keys, nesting, and
//! whitespace between tokens — appended as [`RawJson`] and read back by
//! every read path of a store, byte for byte (whitespace between tokens
//! removed). Run by each backend through [`crate::exact_payload_suite!`].

use eventdag::{DagStore, EventDagExt, EventId, NewEvent, RawJson};
use proptest::prelude::*;

use crate::support::ok;

/// A JSON document as a tree of tokens, rendered with or without
/// whitespace between them.
#[derive(Debug, Clone)]
pub enum Doc {
    /// A number, string or literal, as its JSON text.
    Leaf(String),
    /// An array.
    List(Vec<Doc>),
    /// An object; keys are JSON string texts and may repeat.
    Object(Vec<(String, Doc)>),
}

impl Doc {
    /// The JSON text with `gap` after every `,` and `:` and around the
    /// brackets (`""` gives the compact form a store keeps).
    #[must_use]
    pub fn render(&self, gap: &str) -> String {
        let mut out = String::new();
        self.write(gap, &mut out);
        out
    }

    fn write(&self, gap: &str, out: &mut String) {
        match self {
            Doc::Leaf(text) => out.push_str(text),
            Doc::List(items) => {
                out.push('[');
                out.push_str(gap);
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                        out.push_str(gap);
                    }
                    item.write(gap, out);
                }
                out.push_str(gap);
                out.push(']');
            }
            Doc::Object(fields) => {
                out.push('{');
                out.push_str(gap);
                for (index, (key, value)) in fields.iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                        out.push_str(gap);
                    }
                    out.push_str(key);
                    out.push_str(gap);
                    out.push(':');
                    out.push_str(gap);
                    value.write(gap, out);
                }
                out.push_str(gap);
                out.push('}');
            }
        }
    }
}

/// Number texts a `Value` would not give back: shortest-digit doubles,
/// integers beyond 64 bits, exponents, trailing zeros, negative zero.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| format!("{f:?}")),
        (0.0f64..1.0).prop_map(|f| format!("{f}")),
        "-?[1-9][0-9]{19,40}",
        "-?[1-9]\\.[0-9]{1,20}[eE][+-]?[0-9]{1,3}",
        "-?[0-9]\\.[0-9]{0,5}0{1,4}",
        Just("-0".to_owned()),
        Just("1e400".to_owned()),
        any::<i64>().prop_map(|i| i.to_string()),
    ]
}

/// String texts: any unicode (escaped as serde_json escapes it), and
/// escapes spelled as a client might (`\u00e9`, `\/`, surrogate pairs).
fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>().prop_map(|s| serde_json::to_string(&s).unwrap()),
        Just(r#""\u00e9\/\ud83d\ude00 \"q\" \\ \t""#.to_owned()),
        Just(r#""a b  c""#.to_owned()),
    ]
}

fn leaf() -> impl Strategy<Value = Doc> {
    prop_oneof![
        3 => number().prop_map(Doc::Leaf),
        2 => string().prop_map(Doc::Leaf),
        1 => prop_oneof![Just("true"), Just("false"), Just("null")]
            .prop_map(|text| Doc::Leaf(text.to_owned())),
    ]
}

/// A random JSON document, up to four levels deep.
pub fn doc() -> impl Strategy<Value = Doc> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Doc::List),
            // Few distinct keys, so that some repeat.
            prop::collection::vec(
                (prop_oneof![string(), Just("\"k\"".to_owned())], inner),
                0..6
            )
            .prop_map(Doc::Object),
        ]
    })
}

/// Whitespace a client may put between tokens.
fn gap() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just(" ".to_owned()),
        Just("\n\t ".to_owned())
    ]
}

/// Documents with the whitespace to send them with.
pub fn payloads() -> impl Strategy<Value = Vec<(Doc, String)>> {
    prop::collection::vec((doc(), gap()), 1..6)
}

/// Appends `payloads` as one batch (a line: each under the previous) and
/// checks that the answer, `read`, both walks, the chain and `verify` all
/// give back each payload's compact text exactly.
pub async fn payloads_read_back_exactly<S>(store: &S, payloads: &[(Doc, String)])
where
    S: DagStore<Payload = RawJson>,
{
    let mut drafts = Vec::new();
    let mut expected = Vec::new();
    let mut parent: Option<EventId> = None;
    for (doc, gap) in payloads {
        let sent = doc.render(gap);
        let payload = RawJson::from_text(&sent)
            .unwrap_or_else(|error| panic!("generated JSON {sent:?} does not parse: {error}"));
        let id = eventdag::new_event_id();
        let mut draft = NewEvent::new(payload).id(id);
        if let Some(parent) = parent {
            draft = draft.parents([parent]);
        }
        drafts.push(draft);
        expected.push((id, doc.render("")));
        parent = Some(id);
    }
    let stored = ok(store.append_new_batch(drafts).await);
    let texts = |events: &[eventdag::Event<RawJson>]| -> Vec<(EventId, String)> {
        events
            .iter()
            .map(|event| (event.id(), event.payload.as_str().to_owned()))
            .collect()
    };
    assert_eq!(texts(&stored), expected, "the append's answer");
    for (id, text) in &expected {
        let read = ok(store.read(*id).await);
        assert_eq!(read.payload.as_str(), text, "read of {id}");
        assert!(ok(store.verify_event(*id).await).is_intact(), "verify {id}");
    }
    let (first, _) = expected[0];
    let (last, _) = expected[expected.len() - 1];
    let mut ancestors = texts(&ok(store.walk_ancestors(last, 100).await));
    ancestors.reverse();
    assert_eq!(ancestors, expected, "ancestors");
    assert_eq!(
        texts(&ok(store.walk_descendants(first, 100).await)),
        expected,
        "descendants"
    );
    let chain = ok(store
        .find_correlation_chain(eventdag::DEFAULT_TENANT, first)
        .await);
    assert_eq!(texts(&chain), expected, "correlation chain");
}

/// Generates the exact-payload property test for a store of
/// [`RawJson`] payloads. `$factory`: `async fn() -> (S, G)`, as for
/// [`crate::conformance_suite!`]. Cases: `EVENTDAG_EXACT_CASES`
/// (default 32), all against one store.
#[macro_export]
macro_rules! exact_payload_suite {
    ($factory:path) => {
        #[test]
        fn exact_payloads_read_back_as_sent() {
            use $crate::proptest::prelude::*;
            let runtime = ::tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("tokio runtime");
            let (store, guard) = runtime.block_on($factory());
            let cases = ::std::env::var("EVENTDAG_EXACT_CASES")
                .ok()
                .and_then(|cases| cases.parse().ok())
                .unwrap_or(32);
            let config = ProptestConfig {
                cases,
                failure_persistence: None,
                ..ProptestConfig::default()
            };
            proptest!(config, |(payloads in $crate::exact::payloads())| {
                runtime.block_on($crate::exact::payloads_read_back_exactly(&store, &payloads));
            });
            drop(guard);
        }
    };
}
