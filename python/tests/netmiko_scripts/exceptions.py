import os

from netmiko import ConnectHandler, NetmikoAuthenticationException, NetmikoTimeoutException, ReadTimeout


def device(port, **extra):
    return {
        "device_type": "cisco_ios",
        "host": os.environ["DUT_HOST"],
        "port": int(port),
        "username": os.environ["DUT_USER"],
        "password": os.environ["DUT_PASS"],
        **extra,
    }


devices = {
    "good": device(os.environ["DUT_PORT"]),
    "authfail": device(os.environ["AUTHFAIL_PORT"]),
    "slowbanner": device(os.environ["SLOWBANNER_PORT"], conn_timeout=1),
    "closed": device(os.environ["CLOSED_PORT"]),
}

for name, dev in devices.items():
    try:
        with ConnectHandler(**dev) as net_connect:
            print(name, "connected:", net_connect.find_prompt())
    except NetmikoAuthenticationException:
        print(name, "NetmikoAuthenticationException")
    except NetmikoTimeoutException:
        print(name, "NetmikoTimeoutException")

with ConnectHandler(**device(os.environ["HANG_PORT"])) as net_connect:
    try:
        net_connect.send_command("show hang", read_timeout=1)
    except ReadTimeout:
        print("hang ReadTimeout")

try:
    ConnectHandler(**dict(devices["good"], device_type="cisco_nonsense"))
except ValueError as e:
    print("ValueError:", str(e).splitlines()[0])
