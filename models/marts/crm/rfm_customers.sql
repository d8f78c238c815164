{{ config(engine='MergeTree()', order_by='uid', settings={'min_bytes_for_wide_part': 0},
          query_settings={'join_algorithm': 'parallel_hash'}) }}
-- Rewritten whole on every refresh (the as-of date moves): wide parts write it ~25% faster.
-- RFM per customer with orders before the as-of date, with segment, macro-segment and the
-- recommended action from seeds/rfm_segments.csv, plus contacts for CRM exports (PII: CRM and
-- Admin only; other roles use marts.rfm_scores).
with measures as (
    select
        {{ rfm_as_of_date() }} as as_of_date,
        uid,
        toUInt32(dateDiff('day', toDate(max(buy_ts)), as_of_date)) as recency_days,
        toUInt64(count()) as frequency,
        sum(revenue) as monetary
    from {{ ref('fct_orders') }}
    where toDate(buy_ts) < {{ rfm_as_of_date() }}
    group by uid
),
scored as (
    {{ rfm_scored('measures', 'as_of_date') }}
)
select
    s.uid as uid,
    toString(s.uid) as customer_id,
    s.as_of_date as as_of_date,
    s.recency_days as recency_days,
    s.frequency as frequency,
    s.monetary as monetary,
    s.r_score as r_score,
    s.f_score as f_score,
    s.m_score as m_score,
    s.rfm_code as rfm_code,
    seg.segment as segment,
    seg.macro_segment as macro_segment,
    seg.recommended_action as recommended_action,
    cu.name as name,
    cu.email as email,
    cu.phone as phone,
    cu.email_opt_in as email_opt_in,
    cu.sms_opt_in as sms_opt_in,
    cu.push_opt_in as push_opt_in
from scored as s
left join {{ ref('rfm_segments') }} as seg on seg.rfm_code = s.rfm_code
left join {{ ref('stg_customers') }} as cu on cu.uid = s.uid
