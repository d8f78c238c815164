select
    uid,
    name,
    email,
    phone,
    city,
    registered_at,
    email_opt_in,
    sms_opt_in,
    push_opt_in,
    gender,
    birth_date,
    load_id
from {{ source('raw', 'customers') }}
