{{ config(materialized='view') }}
-- marts.rfm_scores with the customers' contacts, for CRM exports (PII: CRM and Admin only).
-- A view: contacts stay stored once (the customers list), an export always carries the current
-- contact details, and the daily refresh does not rewrite them for every customer.
select
    s.uid as uid,
    s.customer_id as customer_id,
    s.as_of_date as as_of_date,
    s.recency_days as recency_days,
    s.frequency as frequency,
    s.monetary as monetary,
    s.r_score as r_score,
    s.f_score as f_score,
    s.m_score as m_score,
    s.rfm_code as rfm_code,
    s.segment as segment,
    s.macro_segment as macro_segment,
    s.recommended_action as recommended_action,
    cu.name as name,
    cu.email as email,
    cu.phone as phone,
    s.email_opt_in as email_opt_in,
    s.sms_opt_in as sms_opt_in,
    s.push_opt_in as push_opt_in
from {{ ref('rfm_scores') }} as s
left join (select uid, name, email, phone from {{ ref('stg_customers') }}) as cu on cu.uid = s.uid
