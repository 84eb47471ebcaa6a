-- BPJS Ketenagakerjaan programmes, with the statutory minimum employer rate used for arrears.
select program, program_name, employer_minimum_rate, wage_cap from {{ ref('ref_programmes') }}
