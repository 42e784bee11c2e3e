"""What Riverton's residents write and what its staff answer, by service.

Placeholders: {location} (street and landmark), {address}, {street}, {day} (a weekday name).
"""

from __future__ import annotations

# fmt: off
MESSAGES: dict[str, tuple[str, ...]] = {
    "missed-bin": (
        "Our bin was not collected on {day}. Everyone else's on {street} was emptied.",
        "Missed bin again at {address}. It was out from 6am as usual.",
    ),
    "bulky-waste": (
        "I'd like an old sofa and a mattress collected from {address}, please.",
        "Can you collect a broken fridge? We're at {address}.",
    ),
    "bin-request": (
        "Our recycling bin was taken on collection day and never came back. {address}.",
        "We've just moved into {address} and there are no bins at all.",
    ),
    "garden-waste": ("How do I renew the garden waste subscription for {address}?",),
    "fly-tipping": (
        "Someone has dumped a pile of black bags and a mattress on {location}.",
        "Fly-tipping again on {location}: builders' rubble and old tyres.",
    ),
    "graffiti": (
        "New graffiti on the wall on {location}. Some of it is quite offensive.",
        "The bus shelter on {street} has been sprayed with graffiti.",
    ),
    "street-cleaning": (
        "Broken glass all over the pavement on {location}. Children walk this way to school.",
        "Litter everywhere on {street} after the weekend.",
    ),
    "dead-animal": ("There is a dead fox in the road on {location}.",),
    "overgrown": ("The grass verge on {location} hasn't been cut for weeks.",),
    "dog-fouling": ("Dog mess all along the path on {location}, every day.",),
    "pothole": (
        "There's a big pothole on {location}. A cyclist nearly came off this morning.",
        "Deep pothole on {street}, {location}. My car's tyre burst on it.",
    ),
    "pavement": ("A paving slab is loose and rocking on {location}. My mother tripped on it.",),
    "road-sign": ("The give way sign on {location} has been knocked down.",),
    "traffic-signal": ("The traffic lights on {location} are stuck on red in all directions.",),
    "blocked-drain": ("The drain on {location} is blocked and the road floods when it rains.",),
    "tree": ("A large branch has come down on {location} and is half blocking the path.",),
    "gritting": ("{street} wasn't gritted and it's like an ice rink this morning.",),
    "abandoned-vehicle": ("A silver car with flat tyres has been left on {location} for weeks.",),
    "parking": ("A van has been parked across my driveway at {address} all day.",),
    "street-light": (
        "The street light {location} has been out for a week. It's very dark.",
        "Street lamp flickering on and off all night on {location}.",
    ),
    "lights-out": ("Half the street lights on {street} are out.",),
    "noise": (
        "Loud music from a neighbour's flat until 3am again last night, near {address}.",
        "The dog next door barks all day while the owners are out. {address}.",
    ),
    "pests": ("We've seen rats by the bins on {location}.",),
    "food-hygiene": ("I got food poisoning after eating at a takeaway on {street}.",),
    "smoke-odour": ("A neighbour burns rubbish on a bonfire every evening near {address}.",),
    "housing-repair": (
        "Water is leaking through the kitchen ceiling at {address}.",
        "The front door lock is broken at {address} and we can't lock it.",
    ),
    "damp-mould": ("Black mould is growing in the bedroom at {address}. My son has asthma.",),
    "no-heating": ("No heating or hot water at {address} since yesterday. We have a baby.",),
    "homelessness": ("My landlord has given me notice to leave and I have nowhere to go.",),
    "local-tax-question": (
        "My council tax bill seems too high this year. Can someone explain it?",
        "I set up a direct debit but I've still had a reminder letter.",
    ),
    "tax-discount": ("I live alone now. Can I get the single person discount?",),
    "moving-home": ("I'm moving out of {address} at the end of the month.",),
    "benefits": ("I started a new job last week; how do I report the change?",),
    "general-enquiry": ("When is the Civic Centre open over the bank holiday?",),
    "feedback": ("I want to thank the crew who cleared the fallen tree on {street} so quickly.",),
}
ROMANIAN_MESSAGES: dict[str, tuple[str, ...]] = {
    "missed-bin": ("Pubela noastră nu a fost golită {day}. Adresa: {address}.",),
    "pothole": ("Este o groapă mare pe {street}. Vă rog să o reparați.",),
    "noise": ("Vecinii pun muzică tare în fiecare noapte, lângă {address}.",),
    "street-light": ("Stâlpul de iluminat de pe {street} nu funcționează de o săptămână.",),
    "local-tax-question": ("Am primit o somație pentru impozitul local, dar am plătit deja.",),
    "housing-repair": ("Curge apă prin tavanul băii la {address}.",),
}
# Free text that names no service: the contact centre reads and files it.
UNCLASSIFIED = (
    "Hello, who do I speak to about the state of the park on {street}?",
    "Can you tell me when the next residents' meeting is?",
    "I wrote last month and haven't heard anything back.",
)
RESOLUTIONS: dict[str, str] = {
    "missed-bin": "The crew returned and emptied your bin today. Sorry it was missed.",
    "bulky-waste": "Your collection is booked for next {day}. Please leave items out by 7am.",
    "bin-request": "A new bin has been ordered and will be delivered within 10 working days.",
    "fly-tipping": "Our street cleansing team has cleared the dumped waste.",
    "graffiti": "The graffiti has been removed.",
    "pothole": "The pothole has been inspected and repaired.",
    "street-light": "An electrician has replaced the lamp; the light is working again.",
    "noise": "An officer has written to the address. Please keep a diary of any further noise.",
    "housing-repair": "Our repairs team completed the work today.",
    "no-heating": "An engineer visited and the heating and hot water are back on.",
    "local-tax-question": "We have checked your account and written to you with the details.",
}
DEFAULT_RESOLUTION = "This has now been dealt with. Thank you for letting us know."
ACKNOWLEDGEMENTS = (
    "Thank you for reporting this. I've passed it to the team and we'll update you here.",
    "Thanks for getting in touch. We've raised a job and will let you know when it's done.",
    "Thank you. Someone from the team will look at this within the next few working days.",
)
QUESTIONS = (
    "Could you tell us exactly where this is, or send a photo?",
    "Could you confirm your full address and a good time to call you?",
    "Is this still a problem? We couldn't find it when we visited.",
)
FOLLOW_UPS = (
    "It's right outside the newsagent, by the post box.",
    "Yes, it's still there. Any time after 4pm is fine.",
    "Thanks, I've attached a photo from this morning.",
)
REOPENINGS = (
    "Sorry, this has happened again.",
    "It's not actually fixed: it's the same as before.",
)
NOTES = (
    "Raised works order WO-{number} with the contractor.",
    "Checked the round sheet: crew reported the street blocked by parked cars.",
    "Spoke to the team leader; added to tomorrow's schedule.",
    "Duplicate of an earlier report from a neighbour; handled together.",
    "Inspected on site. Meets the intervention level; repair ordered.",
    "Resident is vulnerable: please call rather than write.",
)
NO_ANSWER_NOTE = "No reply from the resident after two reminders; closing."
FIRST_CONTACT_NOTES: dict[str, str] = {
    "phone": "Rang {name} back on the number given and explained what happens next.",
    "email": "Replied from the shared mailbox and explained what happens next.",
    "counter": "{name} came to the Civic Centre counter; gave them a reference to quote.",
    "letter": "Letter scanned; acknowledgement posted to {name}.",
}
OUTCOME_NOTES: dict[str, str] = {
    "phone": "Called {name} to confirm it is done; they were happy with the outcome.",
    "email": "Emailed {name} to confirm the work is done.",
    "counter": "Wrote to {name} to confirm the outcome.",
    "letter": "Outcome letter posted to {name}.",
}
# fmt: on
