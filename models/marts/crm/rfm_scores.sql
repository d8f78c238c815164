{{ config(materialized='view') }}
-- rfm_customers without PII (no name, email, phone): for roles without contact access.
select
    uid, customer_id, as_of_date, recency_days, frequency, monetary, r_score, f_score, m_score, rfm_code,
    segment, macro_segment, recommended_action, email_opt_in, sms_opt_in, push_opt_in
from {{ ref('rfm_customers') }}
