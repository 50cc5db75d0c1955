import os
from pprint import pprint

from netmiko import ConnectHandler

cisco1 = {
    "device_type": "cisco_ios",
    "host": os.environ["DUT_HOST"],
    "port": int(os.environ["DUT_PORT"]),
    "username": os.environ["DUT_USER"],
    "password": os.environ["DUT_PASS"],
}

with ConnectHandler(**cisco1) as net_connect:
    output = net_connect.send_command("show ip interface brief", use_textfsm=True)
    pprint(output)
    print(type(output).__name__, [intf["interface"] for intf in output])
    # No template for this command: the plain text, as netmiko returns it.
    config = net_connect.send_command("show running-config", use_textfsm=True)
    print(type(config).__name__)
