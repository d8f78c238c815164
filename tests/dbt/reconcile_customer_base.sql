-- The customer base holds every customer of dim_customers in the customer list or with orders, and
-- the Customer base summary adds up to it.
select 'profiles vs dim_customers' as check, p.n as value
from (select count() as n from {{ ref('customer_profiles_base') }}) as p
cross join (select count() as n from {{ ref('dim_customers') }} where in_customer_base or orders > 0) as d
where p.n != d.n
union all
select 'summary vs profiles', s.n
from (select sum(contacts) as n from {{ ref('customer_base_summary') }}) as s
cross join (select count() as n from {{ ref('customer_profiles_base') }}) as p
where s.n != p.n
