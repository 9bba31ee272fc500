"""Sending one alert body to one channel: an MQTT broker or an HTTPS webhook. Raises on failure.

MQTT clients stay connected between alerts (one per broker, QoS 1, waiting for the broker's
acknowledgement); webhook bodies are signed with HMAC-SHA256 when the channel has a secret,
so a receiver can tell them from forgeries.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import threading
from typing import Any
from urllib.parse import urlparse

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

PUBLISH_TIMEOUT_S = 5.0
WEBHOOK_TIMEOUT_S = 5.0
DEFAULT_TOPIC = "platekeeper/alerts"


class SendFailed(RuntimeError):
    pass


def _mqtt_address(target: str) -> tuple[str, int, str]:
    parsed = urlparse(target)
    if parsed.scheme not in {"mqtt", "mqtts"} or not parsed.hostname:
        raise SendFailed(f"not an MQTT address: {target!r} (expected mqtt://host:port/topic)")
    port = parsed.port or (8883 if parsed.scheme == "mqtts" else 1883)
    return parsed.hostname, port, parsed.path.lstrip("/") or DEFAULT_TOPIC


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_target(kind: str, target: str) -> None:
    """Refuse a channel address that can never work, when it is configured rather than at the first alert.

    An alert carries a plate, a place and a time: it leaves this machine only encrypted (https, mqtts).
    Plain http and mqtt are accepted for a receiver on this same machine (a local relay)."""
    if kind == "mqtt":
        host, _, _ = _mqtt_address(target)
        plain = urlparse(target).scheme == "mqtt"
    elif kind == "webhook":
        parsed = urlparse(target)
        if parsed.scheme not in {"https", "http"} or not parsed.hostname:
            raise SendFailed(f"not a webhook URL: {target!r}")
        host, plain = parsed.hostname, parsed.scheme == "http"
    else:
        raise SendFailed(f"unknown channel kind {kind!r} (mqtt or webhook)")
    if plain and not _loopback(host):
        secure = "https://" if kind == "webhook" else "mqtts://"
        raise SendFailed(f"alerts leave this machine only encrypted: use {secure} for {host} (SEC-1)")


class _MqttPool:
    def __init__(self) -> None:
        self._clients: dict[tuple[str, int, bool], mqtt.Client] = {}
        self._lock = threading.Lock()

    def client(self, host: str, port: int, tls: bool) -> mqtt.Client:
        with self._lock:
            key = (host, port, tls)
            found = self._clients.get(key)
            if found is not None and found.is_connected():
                return found
            if found is not None:
                found.loop_stop()
            client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="", protocol=mqtt.MQTTv311)
            if tls:
                client.tls_set()
            try:
                client.connect(host, port, keepalive=30)
            except OSError as exc:
                raise SendFailed(f"MQTT broker {host}:{port} unreachable: {exc}") from exc
            client.loop_start()
            self._clients[key] = client
            return client

    def drop(self, host: str, port: int, tls: bool) -> None:
        with self._lock:
            client = self._clients.pop((host, port, tls), None)
        if client is not None:
            client.loop_stop()
            client.disconnect()


_pool = _MqttPool()


def send_mqtt(target: str, body: dict[str, Any]) -> None:
    host, port, topic = _mqtt_address(target)
    tls = target.startswith("mqtts")
    client = _pool.client(host, port, tls)
    info = client.publish(topic, json.dumps(body, default=str), qos=1)
    try:
        info.wait_for_publish(timeout=PUBLISH_TIMEOUT_S)
    except (RuntimeError, ValueError) as exc:
        _pool.drop(host, port, tls)
        raise SendFailed(f"MQTT publish to {host}:{port} failed: {exc}") from exc
    if not info.is_published():
        _pool.drop(host, port, tls)
        raise SendFailed(f"MQTT broker {host}:{port} did not acknowledge within {PUBLISH_TIMEOUT_S:.0f} s")


def sign(secret: str, data: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def send_webhook(target: str, secret: str | None, body: dict[str, Any]) -> None:
    data = json.dumps(body, default=str, sort_keys=True).encode()
    headers = {"content-type": "application/json", "user-agent": "platekeeper-alerts"}
    if secret:
        headers["x-platekeeper-signature"] = sign(secret, data)
    try:
        response = httpx.post(target, content=data, headers=headers, timeout=WEBHOOK_TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise SendFailed(f"webhook {target} unreachable: {exc}") from exc
    if response.status_code >= 300:
        raise SendFailed(f"webhook {target} answered {response.status_code}")
