//! Active users (DAU, WAU, MAU): per day, the distinct users seen over the trailing `days`
//! days; per week, the mean of its days; per window, the mean of the window's days. Each
//! distinct user-day adds the days it keeps the user active that no earlier day of the
//! same user (in the same segment) already covered, so the count is one pass over the
//! distinct user-days and a running sum, not a scan per day.

use std::collections::{BTreeMap, HashMap};

use anyhow::{Context, bail};
use chrono::{Datelike, Duration, NaiveDate};
use polars::prelude::*;

use super::engine::{Buckets, Grain, Key, Request, collect, filter_expr};
use crate::dataset::Dataset;
use crate::schema::sessions as s;

const DAY: &str = "__day";
const PREV: &str = "__prev";
const FROM: &str = "__from";
const UNTIL: &str = "__until";

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")
}

fn day_number(date: NaiveDate) -> i32 {
    (date - epoch()).num_days() as i32
}

/// Active users over the trailing `days` per cell of the request's buckets.
pub fn active_users(ds: &Dataset, days: u16, req: &Request) -> anyhow::Result<Vec<((i64, Key), f64)>> {
    let span = i32::from(days);
    ds.require(s::USER_ID, req.needed_by)?;
    ds.require(s::DATE, req.needed_by)?;
    let (data_from, data_to) = ds.date_range()?;
    // The days whose values are reported.
    let (first, last) = match req.buckets {
        Buckets::Windows(a, b) => (a.from.min(b.from), a.to.max(b.to)),
        Buckets::Grain(Grain::Hour, _) => {
            bail!("{} counts distinct users per day: use --grain day or week, not hour", req.needed_by)
        }
        Buckets::Grain(_, Some(w)) => (w.from, w.to),
        Buckets::Grain(_, None) => (data_from, data_to),
    };
    let (lo, hi) = (day_number(first) - (span - 1), day_number(last));
    let table = &ds.sessions;
    let mut frame = table.frame()?;
    let in_range = col(s::DATE)
        .cast(DataType::Int32)
        .gt_eq(lit(lo))
        .and(col(s::DATE).cast(DataType::Int32).lt_eq(lit(hi)));
    let condition = match filter_expr(table, req.filter)? {
        Some(f) => in_range.and(f),
        None => in_range,
    };
    frame = frame.filter(condition);
    let mut keys: Vec<Expr> = req.by.iter().map(|d| col(d.as_str()).cast(DataType::String)).collect();
    keys.push(col(s::USER_ID));
    let mut select = keys.clone();
    select.push(col(s::DATE).cast(DataType::Int32).alias(DAY));
    let group: Vec<PlSmallStr> =
        req.by.iter().map(|d| PlSmallStr::from(d.as_str())).chain([PlSmallStr::from(s::USER_ID)]).collect();
    let mut sort_by: Vec<PlSmallStr> = group.clone();
    sort_by.push(DAY.into());
    let covered = frame
        .select(select)
        .unique_stable(None, UniqueKeepStrategy::First)
        .sort(sort_by, SortMultipleOptions::default())
        .with_column(
            col(DAY)
                .shift(lit(1))
                .over(group.iter().map(|g| col(g.clone())).collect::<Vec<_>>())?
                .alias(PREV),
        )
        .with_columns([
            when(col(PREV).is_null().or((col(PREV) + lit(span)).lt_eq(col(DAY))))
                .then(col(DAY))
                .otherwise(col(PREV) + lit(span))
                .alias(FROM),
            (col(DAY) + lit(span)).alias(UNTIL),
        ]);
    let dims: Vec<Expr> = req.by.iter().map(|d| col(d.as_str())).collect();
    let count_by = |at: &str| {
        let mut by = dims.clone();
        by.push(col(at));
        covered.clone().group_by(by).agg([len().cast(DataType::Int64).alias("__n")])
    };
    let starts = collect(count_by(FROM)).context("active users: cannot count")?;
    let ends = collect(count_by(UNTIL)).context("active users: cannot count")?;
    // Per segment, the change of the active count at each day.
    let mut deltas: BTreeMap<Key, BTreeMap<i32, i64>> = BTreeMap::new();
    for (df, at, sign) in [(&starts, FROM, 1i64), (&ends, UNTIL, -1i64)] {
        let day = df.column(at)?.cast(&DataType::Int32)?;
        let day = day.i32()?;
        let n = df.column("__n")?.i64()?;
        let dims =
            req.by.iter().map(|d| Ok(df.column(d)?.str()?.clone())).collect::<anyhow::Result<Vec<_>>>()?;
        for row in 0..df.height() {
            let (Some(d), Some(n)) = (day.get(row), n.get(row)) else { continue };
            let key: Key = dims.iter().map(|c| c.get(row).map(str::to_string)).collect();
            *deltas.entry(key).or_default().entry(d).or_default() += sign * n;
        }
    }
    let mut daily: HashMap<Key, Vec<f64>> = HashMap::new();
    for (key, changes) in deltas {
        let mut running = 0i64;
        let mut values = Vec::with_capacity((hi - lo + 1) as usize);
        let mut it = changes.range(..).peekable();
        // Changes before `lo` cannot exist (rows start at lo), so start the sum there.
        for day in lo..=hi {
            while let Some(&(&d, &n)) = it.peek() {
                if d > day {
                    break;
                }
                running += n;
                it.next();
            }
            values.push(running as f64);
        }
        daily.insert(key, values);
    }
    let at = |values: &Vec<f64>, date: NaiveDate| values[(day_number(date) - lo) as usize];
    let mut out = Vec::new();
    let ms = |date: NaiveDate| i64::from(day_number(date)) * 86_400_000;
    for (key, values) in &daily {
        let mean = |from: NaiveDate, to: NaiveDate| {
            let n = (to - from).num_days() + 1;
            (0..n).map(|i| at(values, from + Duration::days(i))).sum::<f64>() / n as f64
        };
        match req.buckets {
            Buckets::Windows(a, b) => {
                out.push(((0, key.clone()), mean(a.from, a.to)));
                out.push(((1, key.clone()), mean(b.from, b.to)));
            }
            Buckets::Grain(Grain::Day, _) => {
                let mut date = first;
                while date <= last {
                    out.push(((ms(date), key.clone()), at(values, date)));
                    date += Duration::days(1);
                }
            }
            Buckets::Grain(_, _) => {
                let mut date = first;
                while date <= last {
                    let monday = date - Duration::days(i64::from(date.weekday().num_days_from_monday()));
                    let end = (monday + Duration::days(6)).min(last);
                    out.push(((ms(monday), key.clone()), mean(date, end)));
                    date = end + Duration::days(1);
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::brief::Window;
    use crate::query::Filter;
    use crate::query::engine::aggregate;
    use crate::query::metric::Measure;

    /// Five users over ten days, counted by hand: the trailing-3-day count on each day is
    /// the number of users with a row on that day or one of the two before it.
    #[test]
    fn trailing_distinct_users_match_a_hand_count() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rows.csv");
        // user: active days (offsets from 2026-01-01)
        let activity: [(u32, &[i64]); 5] =
            [(1, &[0, 1, 2, 3]), (2, &[0, 5]), (3, &[2, 3, 9]), (4, &[7]), (5, &[0, 0, 4, 8])];
        let mut text = String::from("user_id,date,platform\n");
        let start = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        for (user, days) in activity {
            for d in days {
                let platform = if user % 2 == 0 { "ios" } else { "android" };
                text.push_str(&format!("{user},{},{platform}\n", start + Duration::days(*d)));
            }
        }
        std::fs::write(&path, text).unwrap();
        let ds = Dataset::open(Some(&path), None).unwrap();
        let filter = Filter::default();
        let req = Request {
            measures: &[Measure::ActiveUsers(3)],
            by: &[],
            filter: &filter,
            buckets: Buckets::Grain(Grain::Day, None),
            needed_by: "test",
        };
        let agg = aggregate(&ds, &req).unwrap();
        let got: Vec<f64> = agg.buckets().iter().map(|b| agg.get(*b, &Vec::new()).unwrap()[0]).collect();
        // By hand, day d counts users with a row on d-2..d:
        // d0 {1,2,5} d1 {1,2,5} d2 {1,2,3,5} d3 {1,3} d4 {1,3,5} d5 {1,2,3,5} d6 {2,5}
        // d7 {2,4} d8 {4,5} d9 {3,4,5}.
        assert_eq!(got, vec![3.0, 3.0, 4.0, 2.0, 3.0, 4.0, 2.0, 2.0, 2.0, 3.0]);
        // A window's value is the mean of its days: (3 + 3) / 2 and (2 + 3) / 2.
        let windows = Request {
            buckets: Buckets::Windows(
                Window::new(start, start + Duration::days(1)),
                Window::new(start + Duration::days(8), start + Duration::days(9)),
            ),
            ..req
        };
        let agg = aggregate(&ds, &windows).unwrap();
        assert_eq!(agg.get(0, &Vec::new()).unwrap()[0], 3.0);
        assert_eq!(agg.get(1, &Vec::new()).unwrap()[0], 2.5);
    }
}
