//! A plain SVG chart (no dependencies): throughput per workload and mode at the highest client count,
//! log scale.

use crate::Row;

const COLORS: &[(&str, &str)] = &[
    ("extension", "#2b6cb0"),
    ("extension-notify-off", "#3182ce"),
    ("extension-notify-always", "#4a5568"),
    ("sql-edition", "#38a169"),
    ("extension-batch10", "#63b3ed"),
    ("extension-batch10-notify-off", "#90cdf4"),
    ("baseline", "#c05621"),
    ("absurd", "#6b46c1"),
    ("limit", "#718096"),
    ("limit-notify", "#a0aec0"),
];

/// The throughput chart's groups: one per workload (and the pgbench limit), its rows at `clients`.
fn throughput_groups(rows: &[Row], clients: usize) -> Vec<(String, Vec<&Row>)> {
    [
        (1u8, "1: suspend/signal/resume"),
        (2, "2: count 5 of 5"),
        (3, "3: claim+complete, 10k queued"),
        (4, "4: empty-lane claim"),
        (0, "limit: pgbench UPDATE"),
    ]
    .iter()
    .map(|(w, title)| {
        (
            title.to_string(),
            rows.iter().filter(|r| r.workload == *w && r.clients == clients && (r.depth == 0 || r.depth == 10_000)).collect(),
        )
    })
    .filter(|(_, rs): &(String, Vec<&Row>)| !rs.is_empty())
    .collect()
}

pub fn svg(rows: &[Row], clients: usize) -> String {
    let groups = throughput_groups(rows, clients);
    let max = rows.iter().map(|r| r.cycles_per_s).fold(1.0f64, f64::max);
    let top = 10f64.powf(max.log10().ceil());
    let (w, h, left, bottom, plot_h) = (980.0, 460.0, 70.0, 400.0, 340.0);
    let group_w = (w - left - 20.0) / groups.len().max(1) as f64;
    let y = |v: f64| bottom - plot_h * (v.max(1.0).log10() / top.log10());
    let mut s = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' font-family='sans-serif' font-size='12'>\n\
         <rect width='100%' height='100%' fill='white'/>\n\
         <text x='{left}' y='20' font-size='15'>Throughput at {clients} clients (cycles/s, log scale; same server, same run)</text>\n"
    );
    let mut decade = 1.0;
    while decade <= top {
        s += &format!(
            "<line x1='{left}' x2='{}' y1='{y0:.1}' y2='{y0:.1}' stroke='#ddd'/><text x='{}' y='{:.1}' text-anchor='end'>{decade}</text>\n",
            w - 20.0,
            left - 6.0,
            y(decade) + 4.0,
            y0 = y(decade)
        );
        decade *= 10.0;
    }
    for (gi, (title, rs)) in groups.iter().enumerate() {
        let gx = left + gi as f64 * group_w;
        let bar_w = (group_w - 30.0) / rs.len() as f64;
        for (bi, r) in rs.iter().enumerate() {
            let color = COLORS.iter().find(|(m, _)| *m == r.mode).map(|c| c.1).unwrap_or("#999");
            let x = gx + 15.0 + bi as f64 * bar_w;
            let top_y = y(r.cycles_per_s);
            s += &format!(
                "<rect x='{x:.1}' y='{top_y:.1}' width='{:.1}' height='{:.1}' fill='{color}'/><text x='{:.1}' y='{:.1}' text-anchor='middle' font-size='10'>{:.0}</text>\n",
                bar_w - 4.0,
                bottom - top_y,
                x + (bar_w - 4.0) / 2.0,
                top_y - 3.0,
                r.cycles_per_s
            );
        }
        s += &format!("<text x='{:.1}' y='{}' text-anchor='middle'>{title}</text>\n", gx + group_w / 2.0, bottom + 18.0);
    }
    s + &legend(left, h) + "</svg>\n"
}

/// The modes' colours along the bottom of a chart `h` high.
fn legend(left: f64, h: f64) -> String {
    let mut s = String::new();
    for (i, (mode, color)) in COLORS.iter().enumerate() {
        let x = left + i as f64 * 130.0;
        s += &format!(
            "<rect x='{x}' y='{}' width='12' height='12' fill='{color}'/><text x='{}' y='{}' font-size='10'>{mode}</text>\n",
            h - 30.0,
            x + 16.0,
            h - 20.0
        );
    }
    s
}

/// The latency workloads (5, 6) at the highest worker count: p50 and p99 bars per mode, ms, log scale.
pub fn latency_svg(rows: &[Row]) -> String {
    let workers = rows.iter().filter(|r| r.workload >= 5).map(|r| r.clients).max().unwrap_or(1);
    let rs: Vec<&Row> = rows.iter().filter(|r| r.workload >= 5 && r.clients == workers).collect();
    let (w, h, left, bottom, plot_h) = (980.0, 420.0, 70.0, 340.0, 290.0);
    let (lo, hi) = (0.1f64, 1000.0f64);
    let y = |ms: f64| bottom - plot_h * ((ms.clamp(lo, hi) / lo).log10() / (hi / lo).log10());
    let mut s = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' font-family='sans-serif' font-size='12'>\n\
         <rect width='100%' height='100%' fill='white'/>\n\
         <text x='{left}' y='20' font-size='15'>Wake-up latency through the worker loop, {workers} workers (ms, log scale; p50 solid, p99 light)</text>\n"
    );
    let mut tick = lo;
    while tick <= hi {
        s += &format!(
            "<line x1='{left}' x2='{}' y1='{y0:.1}' y2='{y0:.1}' stroke='#ddd'/><text x='{}' y='{:.1}' text-anchor='end'>{tick}</text>\n",
            w - 20.0,
            left - 6.0,
            y(tick) + 4.0,
            y0 = y(tick)
        );
        tick *= 10.0;
    }
    let groups = [(5u8, "5: idle wake-up (create -> handler start)"), (6, "6: signal -> resumed handler start")];
    let group_w = (w - left - 20.0) / groups.len() as f64;
    for (gi, (wl, title)) in groups.iter().enumerate() {
        let members: Vec<&&Row> = rs.iter().filter(|r| r.workload == *wl).collect();
        let gx = left + gi as f64 * group_w;
        let bar_w = (group_w - 30.0) / members.len().max(1) as f64;
        for (bi, r) in members.iter().enumerate() {
            let x = gx + 15.0 + bi as f64 * bar_w;
            let color = match r.mode {
                "extension" => "#2b6cb0",
                "extension-notify-off" => "#90cdf4",
                _ => "#c05621",
            };
            for (v, opacity, dx) in [(r.all.p50, "1", 0.0), (r.all.p99, "0.45", (bar_w - 4.0) / 2.0)] {
                s += &format!(
                    "<rect x='{:.1}' y='{:.1}' width='{:.1}' height='{:.1}' fill='{color}' fill-opacity='{opacity}'/><text x='{:.1}' y='{:.1}' text-anchor='middle' font-size='10'>{v:.1}</text>\n",
                    x + dx,
                    y(v),
                    (bar_w - 4.0) / 2.0,
                    bottom - y(v),
                    x + dx + (bar_w - 4.0) / 4.0,
                    y(v) - 3.0
                );
            }
            s += &format!(
                "<text x='{:.1}' y='{}' text-anchor='middle' font-size='10'>{}</text>\n",
                x + (bar_w - 4.0) / 2.0,
                bottom + 14.0,
                r.mode
            );
        }
        s += &format!("<text x='{:.1}' y='{}' text-anchor='middle'>{title}</text>\n", gx + group_w / 2.0, bottom + 34.0);
    }
    s + "</svg>\n"
}
