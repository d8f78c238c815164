-- depends_on: {{ ref('fct_orders') }}, {{ ref('customer_profiles_base') }}
{{ config(engine='MergeTree()', order_by='uid', settings={'min_bytes_for_wide_part': 0}) }}
-- Rewritten whole on every refresh (the as-of date moves): wide parts write it faster.
-- RFM per customer with orders before the as-of date, with segment, macro-segment and the
-- recommended action from seeds/rfm_segments.csv and the consent flags; no PII, for every role.
-- Contacts (name, e-mail, phone) are joined at read time in marts.rfm_customers (CRM and Admin).
with measures as (
    {{ rfm_measures(ref('fct_orders'), ref('customer_profiles_base')) }}
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
    s.email_opt_in as email_opt_in,
    s.sms_opt_in as sms_opt_in,
    s.push_opt_in as push_opt_in
from scored as s
left join {{ ref('rfm_segments') }} as seg on seg.rfm_code = s.rfm_code
