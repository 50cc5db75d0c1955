import os

from netmiko import ConnectHandler

cisco1 = {
    "device_type": "cisco_ios",
    "host": os.environ["DUT_HOST"],
    "port": int(os.environ["DUT_PORT"]),
    "username": os.environ["DUT_USER"],
    "password": os.environ["DUT_PASS"],
    "secret": os.environ["DUT_SECRET"],
}

command = "delete flash:old.bin"
with ConnectHandler(**cisco1) as net_connect:
    output = net_connect.send_command(command, expect_string=r"Delete filename", strip_prompt=False, strip_command=False)
    output += net_connect.send_command("\n", expect_string=r"confirm", strip_prompt=False, strip_command=False)
    output += net_connect.send_command("y", expect_string=r"#", strip_prompt=False, strip_command=False)

print()
print(output)
print()
