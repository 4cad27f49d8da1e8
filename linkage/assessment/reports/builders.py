"""The seed's periodic reviews (四(三)3 联席会商机制) built from the indicators and the lists:
月研判 (hot spots, high-frequency and repeat matters, risk signals, units ranked), 季会商 (the
disputed-jurisdiction list for the meeting to decide) and 年总结 (the year by month, process
figures and what changed). With a unit, the unit's own rows and evidence only."""

from __future__ import annotations

from linkage.assessment.reports import queries as q
from linkage.assessment.reports.model import Chart, Report, Table
from linkage.assessment.reports.sections import DEFINITIONS, Builder
from linkage.domain.periods import Period


def monthly(builder: Builder, period: Period) -> Report:
    report = builder._report(period)
    conn, config = builder.conn, builder.table.monthly
    builder.overview(report, period)
    report.tables.append(
        Table(
            "hot_spots",
            "二、民意热点 (事项大类 × 镇街，与上月比)",
            [
                ("category", "大类"),
                ("township", "镇（街道）"),
                ("count", "本月"),
                ("previous", "上月"),
                ("change", "增减"),
                ("hot", "热点"),
            ],
            q.hot_spots(conn, period, config.hot_spot_min),
            chart=Chart("category", "count", "本月件数"),
        )
    )
    report.tables.append(
        Table(
            "frequent",
            "三、高频诉求 (联动事项小类)",
            [("subcategory", "小类"), ("category", "大类"), ("count", "本月")]
            + [("previous", "上月"), ("change", "增减")],
            q.catalogue_items(conn, period, config.top),
            chart=Chart("subcategory", "count", "本月件数"),
        )
    )
    report.tables.append(
        Table(
            "repeats",
            f"三(二)、重复报警、重复诉求 (≥{config.repeat_reports} 次)",
            [("incident_id", "事件"), ("township", "镇（街道）"), ("category", "大类")]
            + [("address", "地点"), ("reports", "报告次数"), ("stage", "阶段")],
            q.repeat_matters(conn, period, config.repeat_reports),
        )
    )
    report.tables.append(
        Table(
            "risks",
            "四、风险隐患信号",
            [("signal", "信号"), ("incident_id", "事件"), ("at", "时间")]
            + [("township", "镇（街道）"), ("category", "大类"), ("note", "说明")],
            q.risk_signals(conn, period),
        )
    )
    builder.rankings(report, period, "五")
    builder.accountability(report, period, "六")
    return report


def quarterly(builder: Builder, period: Period) -> Report:
    report = builder._report(period)
    builder.overview(report, period)
    rows = q.disputes(builder.conn, period)
    report.tables.append(
        Table(
            "dispute_items",
            "二、管辖争议事项 (供会商明确管辖主体)",
            [("subcategory", "小类"), ("category", "大类"), ("disputes", "争议次数")]
            + [("police", "定 110"), ("hotline", "定 12345"), ("joint", "会同"), ("open", "未定")]
            + [("again", "反复争议"), ("proposed_owner", "建议管辖主体")],
            q.dispute_items(rows),
            chart=Chart("subcategory", "disputes", "争议次数"),
        )
    )
    report.tables.append(
        Table(
            "disputes",
            "二(二)、争议与协商逐件",
            [("subcategory", "小类"), ("incident_id", "事件"), ("direction", "方向")]
            + [("township", "镇（街道）"), ("disputed_by", "异议方"), ("reason", "异议理由")]
            + [("settled", "协商结果"), ("owner", "责任方")],
            rows,
        )
    )
    report.summary["disputes"] = len(rows)
    builder.rankings(report, period, "三")
    builder.accountability(report, period, "四")
    return report


def annual(builder: Builder, period: Period) -> Report:
    report = builder._report(period)
    builder.overview(report, period)
    months = []
    counts = q.monthly_counts(builder.conn, period)
    for month in period.months():
        hotline, police, link = builder.figures(month)
        months.append(
            {"month": month.label}
            | counts[month.label]
            | {k: hotline.get(k) for k in ("orders", "completion_rate", "satisfaction_rate")}
            | {k: hotline.get(k) for k in ("timely_sign_rate", "on_time_rate")}
            | {"police_on_time_rate": police.get("police_on_time_rate")}
            | {k: link.get(k) for k in ("disputed_by_hotline", "disputed_by_police", "whistles")}
        )
    month_columns = [("month", "月份"), ("police_to_hotline", "110→12345")]
    month_columns += [("hotline_to_police", "12345→110")]
    month_columns += [(k, DEFINITIONS[k][0]) for k in list(months[0])[3:]]
    report.tables.append(
        Table(
            "by_month",
            "二、全年逐月",
            month_columns,
            months,
            chart=Chart("month", "police_to_hotline", "110→12345 逐月件数"),
        )
    )
    this, before = report.summary, {}
    hotline, police, link = builder.figures(period.previous())
    before = {k: v for k, v in (hotline | police | link).items() if not isinstance(v, dict)}
    changes = [
        {
            "key": k,
            "label": DEFINITIONS[k][0],
            "this_year": this.get(k),
            "last_year": before.get(k),
            "change": _change(this.get(k), before.get(k)),
        }
        for k in this
        if k in DEFINITIONS
    ]
    report.tables.append(
        Table(
            "changes",
            "三、与上年比",
            [("label", "指标"), ("this_year", "本年"), ("last_year", "上年"), ("change", "变化")],
            changes,
        )
    )
    builder.rankings(report, period, "四")
    builder.accountability(report, period, "五")
    return report


def _change(now, before):
    if isinstance(now, int | float) and isinstance(before, int | float):
        return round(now - before, 4)
    return None


BUILDERS = {"monthly": monthly, "quarterly": quarterly, "annual": annual}
