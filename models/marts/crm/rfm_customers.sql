{{ config(materialized='view') }}
-- marts.rfm_scores with the customers' contacts, for CRM exports (PII: CRM and Admin only).
-- A view: contacts stay stored once (the customers list), an export always carries the current
-- contact details, and the daily refresh does not rewrite them for every customer.
select
    s.* except (email_opt_in, sms_opt_in, push_opt_in),
    cu.name as name,
    cu.email as email,
    cu.phone as phone,
    s.email_opt_in as email_opt_in,
    s.sms_opt_in as sms_opt_in,
    s.push_opt_in as push_opt_in,
    -- consent as the CRM table shows and filters it
    if(s.email_opt_in = 1, 'yes', 'no') as email_consent,
    if(s.sms_opt_in = 1, 'yes', 'no') as sms_consent,
    if(s.push_opt_in = 1, 'yes', 'no') as push_consent
from {{ ref('rfm_scores') }} as s
left join (select uid, name, email, phone from {{ ref('stg_customers') }}) as cu on cu.uid = s.uid
