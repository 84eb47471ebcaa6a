-- The four Himbara banks that report KUR.
select bank, bank_name, bank_unit from {{ ref('ref_banks') }}
