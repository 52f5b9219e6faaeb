"""The ``user.js`` of the throw-away Firefox profile a capture runs in.

Two jobs. First, Firefox must not try to reach the outside: every background fetch it
knows (remote settings, telemetry, captive-portal and connectivity checks, safe browsing,
updates, Normandy/Nimbus, push, DNS over HTTPS, prefetch and speculative connections, new-tab
content, GMP/OpenH264 downloads, OCSP, geolocation) is switched off or pointed at ``data:``.
The namespace has no route out anyway; these prefs make sure Firefox is not even trying.
Second, WebRTC must show what a capture wants: real host addresses instead of mDNS names,
every interface rather than the default-route one only, no STUN server.
"""

from __future__ import annotations

import json

# Pointing a service at "data:," makes its fetch fail at once without any socket.
_NOWHERE = "data:,"

QUIET: dict[str, bool | int | str] = {
    # Remote settings (blocklists, Nimbus recipes, CRLite, …): Firefox's own test profile value.
    "services.settings.server": "data:,#remote-settings-dummy/v1",
    "services.settings.poll_interval": 86400 * 365,
    "security.remote_settings.crlite_filters.enabled": False,
    "security.remote_settings.intermediates.enabled": False,
    "messaging-system.rsexperimentloader.enabled": False,
    "nimbus.debug": False,
    # Telemetry and data reporting.
    "toolkit.telemetry.enabled": False,
    "toolkit.telemetry.unified": False,
    "toolkit.telemetry.archive.enabled": False,
    "toolkit.telemetry.server": _NOWHERE,
    "toolkit.telemetry.shutdownPingSender.enabled": False,
    "toolkit.telemetry.firstShutdownPing.enabled": False,
    "toolkit.telemetry.newProfilePing.enabled": False,
    "toolkit.telemetry.updatePing.enabled": False,
    "toolkit.telemetry.bhrPing.enabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "toolkit.coverage.endpoint.base": "",
    "datareporting.healthreport.uploadEnabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "datareporting.usage.uploadEnabled": False,
    "browser.ping-centre.telemetry": False,
    "browser.newtabpage.activity-stream.telemetry": False,
    "browser.newtabpage.activity-stream.feeds.telemetry": False,
    "browser.tabs.crashReporting.sendReport": False,
    "browser.crashReports.unsubmittedCheck.autoSubmit2": False,
    "breakpad.reportURL": "",
    # Captive portal detection and the connectivity (DNS) checks.
    "network.captive-portal-service.enabled": False,
    "captivedetect.canonicalURL": "",
    "network.connectivity-service.enabled": False,
    # Safe browsing list updates and lookups.
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "browser.safebrowsing.downloads.enabled": False,
    "browser.safebrowsing.downloads.remote.enabled": False,
    "browser.safebrowsing.blockedURIs.enabled": False,
    "browser.safebrowsing.passwords.enabled": False,
    "browser.safebrowsing.update.enabled": False,
    "browser.safebrowsing.provider.google4.updateURL": "",
    "browser.safebrowsing.provider.google4.gethashURL": "",
    "browser.safebrowsing.provider.google.updateURL": "",
    "browser.safebrowsing.provider.google.gethashURL": "",
    "browser.safebrowsing.provider.mozilla.updateURL": "",
    "browser.safebrowsing.provider.mozilla.gethashURL": "",
    # Application, add-on, search-engine and system add-on updates.
    "app.update.enabled": False,
    "app.update.auto": False,
    "app.update.checkInstallTime": False,
    "app.update.disabledForTesting": True,
    "app.update.url": "",
    "extensions.update.enabled": False,
    "extensions.update.autoUpdateDefault": False,
    "extensions.blocklist.enabled": False,
    "extensions.getAddons.cache.enabled": False,
    "extensions.getAddons.discovery.api_url": _NOWHERE,
    "extensions.systemAddon.update.enabled": False,
    "extensions.systemAddon.update.url": "",
    "extensions.webservice.discoverURL": "",
    "extensions.htmlaboutaddons.recommendations.enabled": False,
    "extensions.pocket.enabled": False,
    "browser.search.update": False,
    "browser.search.geoSpecificDefaults": False,
    "browser.region.network.url": "",
    "browser.region.update.enabled": False,
    "geo.enabled": False,
    "geo.provider.network.url": "",
    # Normandy / Shield studies.
    "app.normandy.enabled": False,
    "app.normandy.api_url": "",
    "app.shield.optoutstudies.enabled": False,
    # Web push (a WebSocket to push.services.mozilla.com).
    "dom.push.enabled": False,
    "dom.push.connection.enabled": False,
    "dom.push.serverURL": "",
    # DNS over HTTPS: off for good (mode 5), and no rollout heuristics.
    "network.trr.mode": 5,
    "network.trr.uri": "",
    "doh-rollout.disable-heuristics": True,
    # Prefetch, predictor, speculative connections, HTTP/3.
    "network.prefetch-next": False,
    "network.dns.disablePrefetch": True,
    "network.predictor.enabled": False,
    "network.http.speculative-parallel-limit": 0,
    "browser.urlbar.speculativeConnect.enabled": False,
    "browser.places.speculativeConnect.enabled": False,
    "network.http.http3.enable": False,
    # Start page, new tab and what it would download (top sites, stories, sponsored tiles).
    "browser.startup.page": 0,
    "browser.startup.homepage": "about:blank",
    "browser.startup.homepage_override.mstone": "ignore",
    "startup.homepage_welcome_url": "about:blank",
    "startup.homepage_welcome_url.additional": "",
    "browser.aboutwelcome.enabled": False,
    "browser.newtabpage.enabled": False,
    "browser.newtabpage.activity-stream.feeds.section.topstories": False,
    "browser.newtabpage.activity-stream.feeds.topsites": False,
    "browser.newtabpage.activity-stream.feeds.system.topstories": False,
    "browser.newtabpage.activity-stream.discoverystream.enabled": False,
    "browser.newtabpage.activity-stream.default.sites": "",
    "browser.topsites.contile.enabled": False,
    "browser.topsites.useRemoteSetting": False,
    "browser.urlbar.quicksuggest.enabled": False,
    "browser.shell.checkDefaultBrowser": False,
    "browser.uitour.enabled": False,
    "browser.discovery.enabled": False,
    "browser.translations.enable": False,
    "browser.ml.enable": False,
    "browser.vpn_promo.enabled": False,
    "identity.fxaccounts.enabled": False,
    # Certificate revocation checks and MITM priming.
    "security.OCSP.enabled": 0,
    "security.certerrors.mitm.priming.enabled": False,
    # Media plugins (OpenH264, Widevine) are downloaded on first use otherwise.
    "media.gmp-manager.url": _NOWHERE,
    "media.gmp-manager.updateEnabled": False,
    "media.gmp-gmpopenh264.autoupdate": False,
    "media.gmp-gmpopenh264.enabled": False,
    "media.gmp-widevinecdm.enabled": False,
    "media.eme.enabled": False,
    # Crash reports and safe mode after a killed run.
    "toolkit.startup.max_resumed_crashes": -1,
    "browser.sessionstore.resume_from_crash": False,
}

WEBRTC: dict[str, bool | int | str] = {
    # Real host addresses in candidates, not <uuid>.local names (our peer is aiortc).
    "media.peerconnection.ice.obfuscate_host_addresses": False,
    # Every interface, not only the one holding the default route.
    "media.peerconnection.ice.default_address_only": False,
    "media.peerconnection.ice.no_host": False,
    "media.peerconnection.ice.proxy_only": False,
    "media.peerconnection.ice.relay_only": False,
    "media.peerconnection.ice.link_local": False,
    # No STUN server unless a page names one (ours passes iceServers: []).
    "media.peerconnection.default_iceservers": "[]",
    "media.peerconnection.use_document_iceservers": True,
    # No camera here: getUserMedia gets fake streams and asks no one.
    "media.navigator.streams.fake": True,
    "media.navigator.permission.disabled": True,
}


def user_js(*, loopback: bool = False) -> str:
    """The profile's ``user.js``; ``loopback`` also gathers 127.0.0.1 / ::1 candidates."""
    prefs = {**QUIET, **WEBRTC, "media.peerconnection.ice.loopback": loopback}
    return "".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in prefs.items())
