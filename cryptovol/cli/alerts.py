"""``cryptovol alerts test``: prove the alert channels work before an incident needs them."""

from __future__ import annotations

import typer

from cryptovol.cli.console import console, fail
from cryptovol.cli.options import Home

alerts_app = typer.Typer(help="The alert channels: the log, CRYPTOVOL_HOME/alerts.jsonl and the "
                         "webhook (CRYPTOVOL_ALERT_WEBHOOK, signed with "
                         "CRYPTOVOL_ALERT_WEBHOOK_SECRET).\n\nExample: `cryptovol alerts test`",
                         no_args_is_help=True)


@alerts_app.command("test")
def test_alert(home: Home = None) -> None:
    """Send a test alert through every configured channel and say what each did with it.

    The webhook gets the same JSON, headers and signature as a real alert (kind `test`), so the
    receiving side can check its signature verification too. Exit 1 if the webhook did not
    take it.

    Example: `CRYPTOVOL_ALERT_WEBHOOK=https://hooks.example/T0/B0/x cryptovol alerts test`
    """
    from cryptovol.alerts import Alert, redact, send_configured
    from cryptovol.cli.runtime import bootstrap, configure_logging

    settings = bootstrap(check_backends=False, home=home)
    configure_logging()
    signed = settings.alert_webhook_secret is not None
    alert = Alert(kind="test", title="cryptovol test alert",
                  text="*cryptovol test alert*: the alert channels of "
                       f"{settings.home} work (sent by `cryptovol alerts test`)",
                  fields={"home": str(settings.home), "signed": signed})
    delivery = send_configured(settings, alert)
    console.print(f"log: sent; {settings.home / 'alerts.jsonl'}: appended", highlight=False)
    if settings.alert_webhook is None:
        console.print("webhook: none configured (set CRYPTOVOL_ALERT_WEBHOOK, and "
                      "CRYPTOVOL_ALERT_WEBHOOK_SECRET to sign)", highlight=False)
        return
    to = redact(settings.alert_webhook.get_secret_value())
    if not delivery.delivered:
        raise fail(f"webhook {to}: not delivered after {delivery.attempts} attempt(s) "
                   f"({delivery.error})")
    console.print(f"webhook {to}: delivered (HTTP {delivery.status}, "
                  f"{'signed' if signed else 'unsigned: set CRYPTOVOL_ALERT_WEBHOOK_SECRET'})",
                  highlight=False)
