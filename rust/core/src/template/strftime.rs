//! `strftime_now(format)` for templates that print today's date (Llama 3.x,
//! Granite). Like transformers' `datetime.now().strftime(format)` it is the
//! device's local time (the C library's time zone; UTC where it has none).
//! A small strftime keeps a date-time crate out of the mobile binary; unknown
//! directives are left as written, as Python does.

use std::time::{SystemTime, UNIX_EPOCH};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// Day of the year, 1-based.
fn day_of_year(year: i64, month: u32, day: u32) -> u32 {
    const BEFORE: [u32; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    BEFORE[(month - 1) as usize] + day + u32::from(leap && month > 2)
}

/// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

pub(super) fn now(format: &str) -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    format_at(format, secs + utc_offset(secs))
}

/// Seconds east of UTC of the local time zone at `unix_secs`.
#[cfg(unix)]
fn utc_offset(unix_secs: i64) -> i64 {
    extern "C" {
        // POSIX; not every libc binding declares it. localtime_r need not
        // read TZ again, so a changed time zone is picked up here.
        fn tzset();
    }
    let t = unix_secs as libc::time_t;
    // SAFETY: tzset takes no arguments; localtime_r writes only into `tm`,
    // which outlives the call.
    unsafe {
        tzset();
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            0
        } else {
            tm.tm_gmtoff as i64
        }
    }
}

#[cfg(not(unix))]
fn utc_offset(_unix_secs: i64) -> i64 {
    0
}

pub(super) fn format_at(format: &str, unix_secs: i64) -> String {
    let days = unix_secs.div_euclid(86_400);
    let secs = unix_secs.rem_euclid(86_400);
    let (year, month, day) = civil(days);
    let (hour, minute, second) = (secs / 3600, secs / 60 % 60, secs % 60);
    // 1970-01-01 was a Thursday (index 3 from Monday).
    let weekday = (days + 3).rem_euclid(7) as usize;
    let month_name = MONTHS[(month - 1) as usize];

    let mut out = String::with_capacity(format.len() + 16);
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('Y') => out.push_str(&year.to_string()),
            Some('y') => out.push_str(&format!("{:02}", year.rem_euclid(100))),
            Some('m') => out.push_str(&format!("{month:02}")),
            Some('d') => out.push_str(&format!("{day:02}")),
            Some('e') => out.push_str(&format!("{day:>2}")),
            Some('B') => out.push_str(month_name),
            Some('b') | Some('h') => out.push_str(&month_name[..3]),
            Some('A') => out.push_str(DAYS[weekday]),
            Some('a') => out.push_str(&DAYS[weekday][..3]),
            Some('H') => out.push_str(&format!("{hour:02}")),
            Some('I') => out.push_str(&format!("{:02}", (hour + 11) % 12 + 1)),
            Some('p') => out.push_str(if hour < 12 { "AM" } else { "PM" }),
            Some('M') => out.push_str(&format!("{minute:02}")),
            Some('S') => out.push_str(&format!("{second:02}")),
            Some('F') => out.push_str(&format!("{year}-{month:02}-{day:02}")),
            Some('j') => out.push_str(&format!("{:03}", day_of_year(year, month, day))),
            Some('u') => out.push_str(&(weekday + 1).to_string()),
            Some('w') => out.push_str(&((weekday + 1) % 7).to_string()),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::format_at;

    #[cfg(unix)]
    #[test]
    fn now_is_local_time() {
        let at = 1_709_211_909; // 2024-02-29 13:05:09 UTC
        let saved = std::env::var_os("TZ");
        // POSIX TZ: "XXX-05:30" is 5 h 30 min east of UTC.
        std::env::set_var("TZ", "XXX-05:30");
        let east = super::utc_offset(at);
        std::env::set_var("TZ", "UTC0");
        let utc = super::utc_offset(at);
        match saved {
            Some(tz) => std::env::set_var("TZ", tz),
            None => std::env::remove_var("TZ"),
        }
        assert_eq!((east, utc), (19_800, 0));
        assert_eq!(format_at("%H:%M", at + east), "18:35");
    }

    #[test]
    fn formats_known_instants() {
        // 2024-02-29 13:05:09 UTC, a Thursday.
        assert_eq!(format_at("%d %b %Y", 1_709_211_909), "29 Feb 2024");
        assert_eq!(format_at("%A %B %e, %I:%M:%S %p", 1_709_211_909), "Thursday February 29, 01:05:09 PM");
        assert_eq!(format_at("%F %q %%", 0), "1970-01-01 %q %");
        assert_eq!(format_at("%j %u %w", 1_709_211_909), "060 4 4");
    }
}
