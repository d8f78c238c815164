{# RFM scoring as the seed's ClickHouse query does it, with exact quantiles (no rounding).
   `measures` is a CTE name with columns <partition>, uid, recency_days, frequency, monetary;
   thresholds are taken per <partition> (one as-of date per partition). Ties go to the lower
   score for F and M (`<=`), see the contract. #}
{% macro rfm_scored(measures, partition) -%}
select
    ms.*,
    toUInt8(multiIf(ms.recency_days <= t.r[1], 5, ms.recency_days <= t.r[2], 4,
                    ms.recency_days <= t.r[3], 3, ms.recency_days <= t.r[4], 2, 1)) as r_score,
    toUInt8(multiIf(ms.frequency <= t.f[1], 1, ms.frequency <= t.f[2], 2,
                    ms.frequency <= t.f[3], 3, ms.frequency <= t.f[4], 4, 5)) as f_score,
    toUInt8(multiIf(ms.monetary <= t.m[1], 1, ms.monetary <= t.m[2], 2,
                    ms.monetary <= t.m[3], 3, ms.monetary <= t.m[4], 4, 5)) as m_score,
    toLowCardinality(concat(toString(r_score), toString(f_score), toString(m_score))) as rfm_code
from {{ measures }} as ms
inner join (
    select
        {{ partition }},
        quantilesExact(0.2, 0.4, 0.6, 0.8)(recency_days) as r,
        quantilesExact(0.2, 0.4, 0.6, 0.8)(frequency) as f,
        quantilesExact(0.2, 0.4, 0.6, 0.8)(monetary) as m
    from {{ measures }}
    group by {{ partition }}
) as t on t.{{ partition }} = ms.{{ partition }}
{%- endmacro %}

{# The RFM as-of date: dbt var rfm_as_of_date, default the day after the last order date. #}
{% macro rfm_as_of_date() -%}
{%- if var('rfm_as_of_date') -%}
    toDate('{{ var("rfm_as_of_date") }}')
{%- else -%}
    (select toDate(max(buy_ts)) + 1 from {{ ref('fct_orders') }})
{%- endif -%}
{%- endmacro %}
