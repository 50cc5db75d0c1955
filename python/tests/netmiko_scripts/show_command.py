import os

from netmiko import ConnectHandler

cisco1 = {
    "device_type": "cisco_ios",
    "host": os.environ["DUT_HOST"],
    "port": int(os.environ["DUT_PORT"]),
    "username": os.environ["DUT_USER"],
    "password": os.environ["DUT_PASS"],
}

# Show command that we execute.
command = "show ip interface brief"

with ConnectHandler(**cisco1) as net_connect:
    output = net_connect.send_command(command)
    print(output)
    # A command the device refuses: netmiko hands back what the device said.
    print(net_connect.send_command("show ip bgp summary bogus"))
    # The echo and the prompt, when asked for.
    full = net_connect.send_command("show clock", strip_prompt=False, strip_command=False)
    print(full.splitlines()[0], "|", full.splitlines()[-1])
    print(net_connect.send_command("show clock", read_timeout=5).strip())
