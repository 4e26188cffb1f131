//! Column names of the tables a drill folder holds: one definition shared by the
//! generator that writes them and the queries that read them.

/// `sessions.parquet`: one row per client-side analytics session.
pub mod sessions {
    pub const SESSION_ID: &str = "session_id";
    pub const USER_ID: &str = "user_id";
    /// UTC timestamp of the session start (Datetime, milliseconds, no time zone).
    pub const TS: &str = "ts";
    pub const DATE: &str = "date";
    pub const PLATFORM: &str = "platform";
    pub const APP_VERSION: &str = "app_version";
    pub const OS_VERSION: &str = "os_version";
    pub const BROWSER: &str = "browser";
    pub const DEVICE: &str = "device";
    pub const COUNTRY: &str = "country";
    pub const TRAFFIC_SOURCE: &str = "traffic_source";
    pub const USER_TYPE: &str = "user_type";
    pub const VIEWED_PRODUCT: &str = "viewed_product";
    pub const ADDED_TO_CART: &str = "added_to_cart";
    pub const REACHED_CHECKOUT: &str = "reached_checkout";
    pub const PURCHASED: &str = "purchased";
    pub const REVENUE: &str = "revenue";
    pub const PAGE_LOAD_MS: &str = "page_load_ms";
    pub const PAYMENT_METHOD: &str = "payment_method";

    /// Categorical dimensions, in the order queries list them.
    pub const DIMENSIONS: [&str; 9] = [
        PLATFORM,
        APP_VERSION,
        OS_VERSION,
        BROWSER,
        DEVICE,
        COUNTRY,
        TRAFFIC_SOURCE,
        USER_TYPE,
        PAYMENT_METHOD,
    ];
    /// Funnel flags in funnel order: each implies the one before it.
    pub const FUNNEL: [&str; 4] = [VIEWED_PRODUCT, ADDED_TO_CART, REACHED_CHECKOUT, PURCHASED];
}

/// `orders.parquet`: backend orders, the second source of truth.
pub mod orders {
    pub const ORDER_ID: &str = "order_id";
    pub const USER_ID: &str = "user_id";
    pub const TS: &str = "ts";
    pub const DATE: &str = "date";
    pub const PLATFORM: &str = "platform";
    pub const COUNTRY: &str = "country";
    pub const PAYMENT_METHOD: &str = "payment_method";
    pub const AMOUNT: &str = "amount";
    pub const STATUS: &str = "status";
}

/// `rollup.parquet`: sessions pre-aggregated per date × every dimension combination, so
/// count and sum metrics answer without scanning raw sessions. Dimension columns as in
/// `sessions`; measures below.
pub mod rollup {
    pub const SESSIONS: &str = "sessions";
    pub const VIEWED_PRODUCT: &str = "viewed_product";
    pub const ADDED_TO_CART: &str = "added_to_cart";
    pub const REACHED_CHECKOUT: &str = "reached_checkout";
    pub const PURCHASED: &str = "purchased";
    pub const REVENUE: &str = "revenue";
    /// Sum of squared revenue over purchasing sessions (for variances of means).
    pub const REVENUE_SQ: &str = "revenue_sq";
}

/// File names inside a drill folder.
pub mod files {
    pub const SESSIONS: &str = "sessions.parquet";
    pub const ORDERS: &str = "orders.parquet";
    pub const ROLLUP: &str = "rollup.parquet";
    /// The rollup per date × hour of the day (`hour`, 0–23 UTC) × every dimension
    /// combination: hourly trends without scanning raw sessions.
    pub const ROLLUP_HOURLY: &str = "rollup_hourly.parquet";
    pub const BRIEF: &str = "drill.toml";
    pub const ANSWER: &str = "answer.sealed";
    pub const CONTEXT_DIR: &str = "context";
    /// CRC-32 and size of every data file, written last by the generator and checked by
    /// every reader, so a damaged byte anywhere in a drill's tables is found by name.
    pub const CHECKSUMS: &str = "checksums.txt";
}

/// How generated drills encode dimension columns: as polars `Enum` (dictionary) columns
/// with a fixed category list, so the Parquet files are small and group-bys are fast.
/// A user's own data may hold plain strings; readers should cast dimension columns to
/// `String` (or compare through a cast) rather than assume either encoding.
pub const DIMENSIONS_ARE_ENUM_ENCODED: bool = true;
