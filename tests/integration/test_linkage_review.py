"""Issue 17, items 4 and 5: the auditors' review queue of candidate person links ("Tinjauan tautan") and the
monthly linkage quality report ("Mutu tautan"), on the defective world's warehouse: in a real browser against
`sinergi serve`'s app (as test_dashboard.py, whose server and browser fixtures this module shares), in the
database as each role, and in the auditors' report.
"""
from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest
from psycopg import sql
from test_dashboard import MONTH, _login, _shot, browser, server  # noqa: F401  (fixtures shared with the dashboard)

from ingestion import access
from sinergi.core import fmt
from sinergi.serve import report

PAIRS = {"pengurus_peserta", "umkm_peserta", "kur_peserta"}


def _all(url, query, params=()):
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def _as(url, role, query, params=()):
    with psycopg.connect(url) as conn, conn.transaction():
        conn.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))
        return conn.execute(query, params).fetchall()


def _decisions(url):
    return _all(url, "select record_feed, record_key, kpj, decision, note, decided_by, review_kind "
                     "from audit.link_decision order by decision_id")


def _decide(page, key, decision, note=""):
    row = page.locator(f'#antrean tr[data-key="{key}"]')
    if note:
        row.locator("input[name=catatan]").fill(note)
    row.locator(f"button[value={decision}]").click()
    page.wait_for_url("**/tautan?**disimpan=*")


def test_an_auditor_accepts_and_rejects_queue_entries_stored_and_logged(browser, server, defective_warehouse):
    page = _login(browser, server, "auditor")
    assert "Tinjauan tautan" in page.inner_text("header nav")
    page.goto(server + "/tautan")
    assert page.inner_text("h1") == "Tinjauan tautan identitas"
    entries = page.locator("#antrean tbody tr[data-kind]")
    kinds = entries.evaluate_all("rows => rows.map(r => r.dataset.kind)")
    assert "sampel_tautan" in kinds                                   # each feed's clerical sample is there
    # The auditor sees the names on both sides (as delivered, from the vault) and the evidence.
    first_row = entries.first
    assert first_row.locator("td").nth(3).inner_text().split("\n")[0] not in ("", "–")
    assert first_row.locator("td").nth(5).inner_text() not in ("", "–")
    assert "=" in first_row.locator("td").nth(9).inner_text()         # e.g. nik=sama nama=setara ...
    open_keys = entries.evaluate_all("rows => rows.filter(r => !r.querySelector('.keputusan-lalu'))"
                                     ".map(r => [r.dataset.key, r.dataset.kind])")
    (accepted, accepted_kind), (rejected, rejected_kind) = open_keys[:2]
    before = len(_decisions(defective_warehouse))

    _decide(page, accepted, "terima", "Nama sama dengan ejaan lama; tanggal lahir sama.")
    assert page.inner_text("#pesan").startswith("Keputusan disimpan: kandidat diterima")
    _decide(page, rejected, "tolak")
    assert page.inner_text("#pesan").startswith("Keputusan disimpan: kandidat ditolak")

    stored = _decisions(defective_warehouse)[before:]
    candidates = dict(_all(defective_warehouse, "select record_feed || '|' || record_key, candidate_kpj "
                                                "from marts.fct_link_review"))
    assert [(f"{f}|{k}", kpj, d, n, who, kind) for f, k, kpj, d, n, who, kind in stored] == [
        (accepted, candidates[accepted], "terima", "Nama sama dengan ejaan lama; tanggal lahir sama.", "auditor",
         accepted_kind),
        (rejected, candidates[rejected], "tolak", None, "auditor", rejected_kind)]
    logged = _all(defective_warehouse, "select username, role_name, detail from access.access_log "
                                       "where event = 'keputusan_tautan' order by id")[-2:]
    assert [(u, r, d.split(" ")[0]) for u, r, d in logged] == [("auditor", access.AUDITOR, "terima"),
                                                               ("auditor", access.AUDITOR, "tolak")]
    assert accepted.split("|", 1)[1] in logged[0][2] and candidates[accepted] in logged[0][2]

    # Shown as decided, and by whom (the queue of that kind and feed).
    feed, _ = accepted.split("|", 1)
    page.goto(f"{server}/tautan?jenis={accepted_kind}&umpan={feed}")
    assert "diterima oleh auditor" in page.locator(f'#antrean tr[data-key="{accepted}"]').inner_text()
    _shot(page, "tinjauan_tautan_auditor")

    # A decision needs this session's CSRF token, and an entry of the queue.
    token = page.locator("input[name=csrf]").first.get_attribute("value")
    form = {"record_feed": feed, "record_key": accepted.split("|", 1)[1], "kpj": candidates[accepted],
            "keputusan": "tolak"}
    assert page.request.post(server + "/tautan/keputusan", form={**form, "csrf": "0" * 64},
                             headers={"Origin": server}).status == 403
    assert page.request.post(server + "/tautan/keputusan", form={**form, "kpj": "00000000000", "csrf": token},
                             headers={"Origin": server}).status == 404
    assert len(_decisions(defective_warehouse)) == before + 2


def test_an_analyst_can_neither_see_the_queue_nor_post_a_decision(browser, server, defective_warehouse):
    page = _login(browser, server, "analis")
    assert "Tinjauan tautan" not in page.inner_text("header nav")
    response = page.goto(server + "/tautan")
    assert response.status == 403
    assert page.inner_text("[role=alert]") == "Halaman ini hanya untuk auditor."
    _shot(page, "tinjauan_tautan_analis")
    token = page.locator("input[name=csrf]").first.get_attribute("value")     # the analyst's own, valid token
    feed, key, kpj = _all(defective_warehouse, "select record_feed, record_key, candidate_kpj "
                                               "from marts.fct_link_review limit 1")[0]
    before = len(_decisions(defective_warehouse))
    answer = page.request.post(server + "/tautan/keputusan", headers={"Origin": server}, form={
        "record_feed": feed, "record_key": key, "kpj": kpj, "keputusan": "terima", "csrf": token})
    assert answer.status == 403
    assert len(_decisions(defective_warehouse)) == before
    # The database says the same, whatever the page does: only the auditor inserts decisions and reads the queue.
    for role in (access.ANALYST, access.TRANSFORMER, access.add_province_role(defective_warehouse, "35")):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            _as(defective_warehouse, role, "insert into audit.link_decision (record_feed, record_key, kpj, decision, "
                                           "decided_by) values ('umkm', 'x', 'y', 'terima', 'z')")
    assert _as(defective_warehouse, access.ANALYST, "select count(*) from marts.fct_link_review")[0][0] == 0
    assert _as(defective_warehouse, "sinergi_wilayah_35", "select count(*) from marts.fct_link_review")[0][0] == 0
    assert _as(defective_warehouse, access.AUDITOR, "select count(*) from marts.fct_link_review")[0][0] > 0
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        _as(defective_warehouse, access.AUDITOR, "update audit.link_decision set decision = 'tolak'")


def test_the_linkage_quality_mart_has_every_feed_pair_each_month_with_shares_between_0_and_1(defective_warehouse):
    national = _all(defective_warehouse, """
        select as_of, feed_pair, records, linked, conflicts, uncertain, not_found, linked_share,
            precision_estimate, recall_estimate, precision_decisions, recall_decisions
        from marts.fct_linkage_quality where province_code = 'ID' and sender = 'semua'""")
    months = {r[0] for r in national}
    assert len(months) == 2
    assert sorted((m, p) for m, p, *_ in national) == sorted((m, p) for m in months for p in PAIRS)
    for _, pair, records, linked, conflicts, uncertain, not_found, share, precision, recall, np_, nr in national:
        assert records > 0 and linked + conflicts + uncertain + not_found == records, pair
        assert 0 <= share <= 1 and share == round(Decimal(linked) / records, 6), pair
        for estimate in (precision, recall):
            assert estimate is None or 0 <= estimate <= 1, pair
        assert (precision is None) == (np_ == 0) or linked == 0, pair           # no decision, no estimate
    # Per sender and province the rows add up to the nation's.
    parts = _all(defective_warehouse, """
        select as_of, feed_pair, sum(records), sum(linked), sum(conflicts), sum(uncertain)
        from marts.fct_linkage_quality where province_code is distinct from 'ID' group by 1, 2""")
    assert sorted(parts) == sorted((m, p, r, k, c, u) for m, p, r, k, c, u, *_ in national)
    # The bias check: both sexes and the age bands of each feed pair, nationally, rates between 0 and 1.
    bias = _all(defective_warehouse, """
        select feed_pair, dimension, group_value, link_rate from marts.fct_linkage_bias
        where province_code = 'ID' and as_of = (select max(as_of) from marts.fct_linkage_bias)""")
    for pair in PAIRS:
        groups = {(d, g) for p, d, g, _ in bias if p == pair}
        assert {("jenis_kelamin", "L"), ("jenis_kelamin", "P")} <= groups, pair
        assert len({g for d, g in groups if d == "kelompok_usia"}) >= 3, pair
        assert any(d == "wilayah" for d, _ in groups), pair
    assert all(0 <= rate <= 1 for *_, rate in bias)


def test_the_quality_page_in_indonesian_numbers_and_a_regional_user_sees_only_their_province(
        browser, server, defective_warehouse):
    page = _login(browser, server, "analis")
    page.goto(server + "/mutu-tautan")
    assert page.inner_text("h1") == f"Mutu tautan identitas · {fmt.bulan(MONTH)}"
    share, records = _all(defective_warehouse, "select linked_share, records from marts.fct_linkage_quality where "
                                               "as_of = %s and feed_pair = 'umkm_peserta' and province_code = 'ID'",
                          (f"{MONTH}-01",))[0]
    row = page.locator("#mutu-nasional tr[data-pair=umkm_peserta]")
    assert row.locator("td.porsi").inner_text() == fmt.persen(float(share))   # e.g. 27,2%
    assert fmt.angka(records) in row.inner_text()
    assert page.locator("#bias tr[data-dimension=jenis_kelamin]").count() >= 6
    _shot(page, "mutu_tautan_analis")
    regional = _login(browser, server, "jatim")
    regional.goto(server + "/mutu-tautan?provinsi=33")                        # asks for another: gets their own
    assert regional.locator("#mutu-nasional").count() == 0
    provinces = regional.locator("#mutu-rincian tbody tr td:nth-child(3)").all_inner_texts()
    assert provinces and set(provinces) == {"Jawa Timur"}


def test_the_auditors_report_has_the_linkage_quality_section(defective_warehouse, tmp_path):
    if not _decisions(defective_warehouse):  # run on its own: one decision, as an auditor makes it
        _as(defective_warehouse, access.AUDITOR, """
            insert into audit.link_decision (record_feed, record_key, kpj, decision, decided_by, review_kind)
            select record_feed, record_key, candidate_kpj, 'terima', 'auditor', review_kind
            from marts.fct_link_review limit 1 returning decision_id""")
    written = report.write(defective_warehouse, MONTH, tmp_path)
    html = written.html.read_text(encoding="utf-8")
    assert 'id="mutu-tautan"' in html and f"Mutu tautan identitas · {fmt.bulan(MONTH)}" in html
    for table in ("mutu-tautan-nasional", "mutu-tautan-rincian", "mutu-tautan-bias", "mutu-tautan-keputusan"):
        assert f'id="{table}"' in html, table
    assert "presisi = R / tautan" in html
    auditor = report.gather(defective_warehouse, MONTH, access.AUDITOR)["linkage"]
    analyst = report.gather(defective_warehouse, MONTH, access.ANALYST)["linkage"]
    assert {r["feed_pair"] for r in auditor["national"]} == PAIRS
    assert auditor["national"] == analyst["national"]
    assert analyst["decisions"] is None                                      # the ledger is the auditor's


def test_decisions_win_over_the_model_in_the_next_build(defective_warehouse):
    """`terima` links the pair with rule `keputusan`, `tolak` removes that candidate: in the next build of the
    linkage models (only those: the metric marts are left as they are). The decisions are removed afterwards
    and the same models rebuilt, so the shared warehouse ends as it began."""
    from sinergi.warehouse import dbt_runner

    models = ["stg_audit__link_decisions", "int_identity__person_links", "fct_link_review", "fct_linkage_quality",
              "fct_linkage_bias"]
    sample = _all(defective_warehouse, "select record_feed, record_key, candidate_kpj from marts.fct_link_review "
                                       "where review_kind = 'sampel_tautan' order by record_feed, sample_rank limit 2")
    (feed_a, key_a, kpj_a), (feed_b, key_b, kpj_b) = sample
    link = ("select status, rule, kpj, candidate_kpj from identity.int_identity__person_links "
            "where record_feed = %s and record_key = %s")
    try:
        for feed, key, kpj, decision in ((feed_a, key_a, kpj_a, "terima"), (feed_b, key_b, kpj_b, "tolak")):
            _as(defective_warehouse, access.AUDITOR, """
                insert into audit.link_decision (record_feed, record_key, kpj, decision, decided_by, review_kind)
                values (%s, %s, %s, %s, 'auditor', 'sampel_tautan') returning decision_id""",
                (feed, key, kpj, decision))
        dbt_runner.build(defective_warehouse, include_unchecked=True, quiet=True,
                        select=["stg_audit__months_to_refresh", *models], with_tests=False)
        # A decision can move any month a person appears in: the next build recomputes every month.
        assert _all(defective_warehouse, "select count(*) filter (where refresh_from = '-infinity'), count(*) "
                                         "from staging.stg_audit__months_to_refresh")[0] == (
            _all(defective_warehouse, "select count(distinct as_of) from published.fct_build_inputs")[0][0],) * 2
        assert _all(defective_warehouse, link, (feed_a, key_a)) == [("tertaut", "keputusan", kpj_a, kpj_a)]
        status, rule, kpj, candidate = _all(defective_warehouse, link, (feed_b, key_b))[0]
        assert kpj_b not in (kpj, candidate) and rule != "keputusan"
        counted = _all(defective_warehouse, "select sum(linked_by_decision), max(precision_decisions) "
                                            "from marts.fct_linkage_quality where province_code = 'ID' "
                                            "and record_feed = %s", (feed_a,))[0]
        assert counted[0] >= 1 and counted[1] >= 1
    finally:
        with psycopg.connect(defective_warehouse) as conn:
            conn.execute("delete from audit.link_decision")
        dbt_runner.build(defective_warehouse, include_unchecked=True, quiet=True, select=models, with_tests=False)
    assert _all(defective_warehouse, link, (feed_a, key_a))[0][1] != "keputusan"
