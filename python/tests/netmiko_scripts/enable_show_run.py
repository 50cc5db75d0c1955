import os

from netmiko import ConnectHandler

cisco1 = {
    "device_type": "cisco_ios_ssh",
    "host": os.environ["DUT_HOST"],
    "port": int(os.environ["DUT_PORT"]),
    "username": os.environ["DUT_USER"],
    "password": os.environ["DUT_PASS"],
    "secret": os.environ["DUT_SECRET"],
}

with ConnectHandler(**cisco1) as net_connect:
    net_connect.enable()
    print("enable mode:", net_connect.check_enable_mode())
    output = net_connect.send_command("show running-config")
    print(output.splitlines()[0])
    print("hostname R1" in output)
    net_connect.exit_enable_mode()
    print(net_connect.find_prompt())
