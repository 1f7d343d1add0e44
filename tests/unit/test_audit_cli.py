from bot.compliance import audit, audit_cli


def test_history_prints_every_record_of_the_customer(capsys):
    audit.record("cli-1", "warning", c_level="C3", products=[{"id": "AX-BF-01", "risk": "R2"}],
                 warning_text="理财非存款、产品有风险、投资须谨慎", emotion="calm")
    audit.record("cli-1", "suggestion", c_level="C3", products=[{"id": "AX-BF-01", "risk": "R2"}])
    audit.record("cli-2", "handoff")
    assert audit_cli.main(["history", "cli-1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and "warning" in lines[0] and "AX-BF-01(R2)" in lines[1] and "level=C3" in lines[1]


def test_verify_reports_an_intact_chain(capsys):
    audit.record("cli-3", "handoff")
    assert audit_cli.main(["verify"]) == 0
    assert "chain intact" in capsys.readouterr().out
