-- Visit cohort sizes add up to all users, and retention at lifetime 0 is 1.
select 'cohort sizes' as check, toFloat64(c.n) as value
from (select sum(cohort_users) as n from {{ ref('retention_monthly') }} where lifetime_month = 0) as c
cross join (select uniqExact(uid) as n from {{ ref('stg_visits') }}) as r
where c.n != r.n
union all
select 'retention at lifetime 0', retention
from {{ ref('retention_monthly') }}
where lifetime_month = 0 and active_users != cohort_users
