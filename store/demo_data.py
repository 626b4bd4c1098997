"""The fixed Spanish tables the demo data set is drawn from (names, catalogue, texts)."""

from __future__ import annotations

from decimal import Decimal
from typing import Final, NamedTuple

SEED: Final = 20240611
MAIL_DOMAIN: Final = "crm.localhost"
# Demo addresses use the reserved ".example" TLD: `enviar` can never mail a real company.
DEMO_TLD: Final = "example"


class TaxRow(NamedTuple):
    name: str
    rate: Decimal


TAXES: Final = (
    TaxRow("IVA 21 %", Decimal(21)),
    TaxRow("IVA 10 %", Decimal(10)),
    TaxRow("IVA 4 %", Decimal(4)),
    TaxRow("Exento 0 %", Decimal(0)),
)


class VendorRow(NamedTuple):
    name: str
    email: str
    phone: str


# Three "Suministros …" so a vendor search can show several matches.
VENDORS: Final = (
    VendorRow(
        "Suministros Ibéricos S.L.", "pedidos@suministros-ibericos.example", "+34 913 456 210"
    ),
    VendorRow("Suministros Levante S.A.", "ventas@suministros-levante.example", "+34 963 114 520"),
    VendorRow("Suministros Industriales del Norte S.L.", "info@sinorte.example", "+34 944 270 118"),
    VendorRow(
        "Papelería Castellana S.L.", "pedidos@papeleria-castellana.example", "+34 983 201 450"
    ),
    VendorRow("Informática Mediterránea S.A.", "comercial@infomed.example", "+34 965 330 742"),
    VendorRow("Distribuciones Gallegas S.L.", "pedidos@distgallegas.example", "+34 981 556 093"),
    VendorRow("Ferretería Hermanos Ruiz S.L.", "tienda@ferreteria-ruiz.example", "+34 976 412 377"),
    VendorRow(
        "Mobiliario de Oficina Ortega S.L.", "ventas@mobiliario-ortega.example", "+34 952 218 604"
    ),
    VendorRow("Electrónica Bética S.A.", "pedidos@electronica-betica.example", "+34 954 623 381"),
    VendorRow("Limpiezas Cántabras S.L.", "info@limpiezas-cantabras.example", "+34 942 375 019"),
    VendorRow("Transportes Añón S.L.", "trafico@transportes-anon.example", "+34 976 880 145"),
    VendorRow(
        "Logística Peñalara S.A.", "operaciones@logistica-penalara.example", "+34 918 522 730"
    ),
    VendorRow("Redes y Sistemas Navarra S.L.", "soporte@rsnavarra.example", "+34 948 174 266"),
    VendorRow("Café y Vending Aragón S.L.", "pedidos@vending-aragon.example", "+34 974 230 581"),
)


class ItemRow(NamedTuple):
    sku: str
    name: str
    unit_price: Decimal
    tax_rate: Decimal
    stock: Decimal | None = None


def _p(sku: str, name: str, price: str, rate: int, stock: int) -> ItemRow:
    return ItemRow(sku, name, Decimal(price), Decimal(rate), Decimal(stock))


def _s(sku: str, name: str, price: str, rate: int) -> ItemRow:
    return ItemRow(sku, name, Decimal(price), Decimal(rate))


PRODUCTS: Final = (
    _p("INF-PORT-14", 'Portátil 14" Core i5 16 GB', "749.00", 21, 12),
    _p("INF-PORT-16", 'Portátil 16" Core i7 32 GB', "1289.00", 21, 5),
    _p("INF-MON-24", 'Monitor 24" Full HD', "139.90", 21, 30),
    _p("INF-MON-27", 'Monitor 27" QHD', "259.00", 21, 14),
    _p("INF-TEC-ES", "Teclado inalámbrico (español)", "34.50", 21, 60),
    _p("INF-RAT-01", "Ratón óptico inalámbrico", "18.75", 21, 85),
    _p("INF-DOCK-C", "Base de conexión USB-C", "169.00", 21, 9),
    _p("INF-IMP-LAS", "Impresora láser multifunción", "329.00", 21, 4),
    _p("INF-TON-NEG", "Tóner negro alta capacidad", "89.95", 21, 40),
    _p("INF-SAI-1500", "SAI 1500 VA", "215.00", 21, 6),
    _p("INF-SW-24", "Switch gestionable 24 puertos", "389.00", 21, 3),
    _p("INF-NAS-4B", "Servidor NAS 4 bahías", "612.50", 21, 2),
    _p("INF-DISCO-4T", "Disco duro 4 TB para NAS", "109.00", 21, 22),
    _p("INF-TAB-10", 'Tableta 10"', "299.00", 21, 8),
    _p("OFI-PAP-A4", "Papel A4 80 g (caja de 5 paquetes)", "24.90", 21, 120),
    _p("OFI-BOL-AZ", "Bolígrafo azul (caja de 50)", "12.40", 21, 75),
    _p("OFI-ARCH-PAL", "Archivador de palanca", "2.35", 21, 400),
    _p("OFI-SOB-AM", "Sobre americano (unidad)", "0.0475", 21, 5000),
    _p("MOB-SILLA-ERG", "Silla ergonómica", "245.00", 21, 16),
    _p("MOB-MESA-160", "Mesa de oficina 160×80", "310.00", 21, 7),
    _p("MOB-ARM-ALT", "Armario alto con llave", "198.00", 21, 5),
    _p("MOB-LAMP-LED", "Lámpara de escritorio LED", "39.90", 21, 25),
    _p("SEG-EXT-6K", "Extintor de polvo 6 kg", "42.00", 21, 18),
    _p("SEG-BOTIQUIN", "Botiquín de primeros auxilios", "27.50", 21, 20),
    _p("ALI-CAFE-1K", "Café en grano 1 kg", "17.80", 10, 50),
    _p("ALI-AGUA-24", "Agua mineral 50 cl (pack de 24)", "6.90", 10, 80),
    _p("ALI-GALL-1K", "Galletas surtidas 1 kg", "8.45", 10, 30),
    _p("LIB-GEST-PRO", "Libro «Gestión de proyectos»", "32.00", 4, 15),
    _p("LIB-PRL-MAN", "Manual de prevención de riesgos laborales", "24.00", 4, 10),
    _p("PUB-REV-TEC", "Revista técnica (suscripción anual)", "58.00", 4, 0),
    _p("COR-SELLO-NAC", "Sello de correos nacional", "0.84", 0, 500),
)

SERVICES: Final = (
    _s("SRV-INST", "Instalación y puesta en marcha", "65.00", 21),
    _s("SRV-SOP-MES", "Soporte técnico mensual", "180.00", 21),
    _s("SRV-SOP-HORA", "Soporte técnico (hora)", "48.50", 21),
    _s("SRV-MANT-PRE", "Mantenimiento preventivo trimestral", "220.00", 21),
    _s("SRV-FORM-H", "Formación presencial (hora)", "55.00", 0),
    _s("SRV-CONS-H", "Consultoría (hora)", "75.00", 21),
    _s("SRV-TRANS-URG", "Transporte urgente 24 h", "18.90", 21),
    _s("SRV-DESPL", "Desplazamiento técnico", "35.00", 21),
    _s("SRV-WEB-ANUAL", "Alojamiento web anual", "119.00", 21),
    _s("SRV-MIGR", "Migración de datos", "450.00", 21),
    _s("SRV-AUD-SEG", "Auditoría de seguridad", "1200.00", 21),
    _s("SRV-CATER", "Servicio de catering (por persona)", "14.50", 10),
    _s("SRV-SEGURO", "Seguro de equipos (anual)", "96.00", 0),
)


class CityRow(NamedTuple):
    city: str
    province: str
    postal_prefix: str
    phone_prefix: str


CITIES: Final = {
    "madrid": CityRow("Madrid", "Madrid", "28", "91"),
    "barcelona": CityRow("Barcelona", "Barcelona", "08", "93"),
    "valencia": CityRow("Valencia", "Valencia", "46", "96"),
    "sevilla": CityRow("Sevilla", "Sevilla", "41", "95"),
    "bilbao": CityRow("Bilbao", "Bizkaia", "48", "94"),
    "zaragoza": CityRow("Zaragoza", "Zaragoza", "50", "976"),
    "malaga": CityRow("Málaga", "Málaga", "29", "95"),
    "coruna": CityRow("A Coruña", "A Coruña", "15", "981"),
    "valladolid": CityRow("Valladolid", "Valladolid", "47", "983"),
    "palma": CityRow("Palma", "Illes Balears", "07", "971"),
    "murcia": CityRow("Murcia", "Murcia", "30", "968"),
    "alicante": CityRow("Alicante", "Alicante", "03", "965"),
    "granada": CityRow("Granada", "Granada", "18", "958"),
    "salamanca": CityRow("Salamanca", "Salamanca", "37", "923"),
    "pamplona": CityRow("Pamplona", "Navarra", "31", "948"),
    "logrono": CityRow("Logroño", "La Rioja", "26", "941"),
    "santander": CityRow("Santander", "Cantabria", "39", "942"),
    "albacete": CityRow("Albacete", "Albacete", "02", "967"),
    "laspalmas": CityRow("Las Palmas de Gran Canaria", "Las Palmas", "35", "928"),
}

STREETS: Final = (
    "Calle Mayor",
    "Avenida de la Constitución",
    "Calle Real",
    "Gran Vía",
    "Calle San Fernando",
    "Paseo de la Castellana",
    "Avenida del Puerto",
    "Calle Íñigo de Loyola",
    "Calle de la Peña",
    "Plaza de España",
    "Calle Doctor Fleming",
    "Avenida de Andalucía",
    "Calle Nueva",
    "Ronda de Toledo",
    "Calle del Carmen",
    "Polígono Industrial Las Viñas, nave",
)


class AccountRow(NamedTuple):
    name: str | None
    domain: str
    city: str


# Several characters here are chat markup on purpose (*, &, _): renderers must escape them.
ACCOUNTS: Final = {
    "norte": AccountRow("Construcciones Norte S.L.", "construcciones-norte", "bilbao"),
    "sol": AccountRow("Hostelería del Sol S.L.", "hosteleriadelsol", "malaga"),
    "estrella": AccountRow("Café *Estrella*", "cafe-estrella", "sevilla"),
    "sonrisa": AccountRow("Clínica Dental Sonrisa", "clinicasonrisa", "valencia"),
    "pena": AccountRow("Talleres Peña e Hijos S.L.", "talleres-pena", "zaragoza"),
    "vinaverde": AccountRow("Bodegas Viñaverde S.A.", "vinaverde", "logrono"),
    "nunez": AccountRow("Gestoría Núñez & Asociados", "gestoria-nunez", "madrid"),
    "ebro": AccountRow("Transportes Ebro S.L.", "transportes-ebro", "zaragoza"),
    "mancha": AccountRow("Agroalimentaria La Mancha S. Coop.", "agro-lamancha", "albacete"),
    "ignacio": AccountRow("Colegio San Ignacio", "colegio-sanignacio", "pamplona"),
    "ordonez": AccountRow("Farmacia Ordóñez", "farmacia-ordonez", "granada"),
    "galaica": AccountRow("Ingeniería Galaica S.L.", "ingenieria-galaica", "coruna"),
    "munoz": AccountRow("Estudio de Arquitectura Muñoz", "estudio-munoz", "barcelona"),
    "espiga": AccountRow("Panadería La Espiga", "panaderia-laespiga", "valladolid"),
    "miramar": AccountRow("Hotel Miramar Palma S.A.", "hotelmiramar", "palma"),
    "villanueva": AccountRow("Ayuntamiento de Villanueva del Río", "villanuevadelrio", "sevilla"),
    "cantabricas": AccountRow("Distribuciones Cantábricas S.L.", "dist-cantabricas", "santander"),
    "ibanez": AccountRow("Asesoría Fiscal Ibáñez", "asesoria-ibanez", "murcia"),
    "quijote": AccountRow("Librería El Quijote", "libreria-quijote", "salamanca"),
    "vision": AccountRow("Óptica Visión Clara", "optica-visionclara", "alicante"),
    "particular-lp": AccountRow(None, "correo", "laspalmas"),
    "particular-md": AccountRow(None, "correo", "madrid"),
}


class PersonRow(NamedTuple):
    first_name: str
    last_name: str
    account: str


# Three "Ana" (``vincular ana`` lists several), several "Peña", and a "María_José" whose
# underscore is markdown. The last LEADS rows are new leads with little history yet.
PEOPLE: Final = (
    PersonRow("Ana", "García López", "norte"),
    PersonRow("Ana", "Fernández Ruiz", "sonrisa"),
    PersonRow("Ana Belén", "Martínez Soto", "nunez"),
    PersonRow("José Luis", "Rodríguez Peña", "norte"),
    PersonRow("María_José", "Ibáñez Roca", "ibanez"),
    PersonRow("Javier", "Sánchez Gómez", "ebro"),
    PersonRow("Lucía", "Romero Navarro", "sol"),
    PersonRow("Carmen", "Muñoz Ortega", "munoz"),
    PersonRow("Íñigo", "Echeverría Zubiri", "ignacio"),
    PersonRow("Begoña", "Álvarez Cuesta", "galaica"),
    PersonRow("Pablo", "Jiménez Herrera", "pena"),
    PersonRow("Nuria", "Castaño Vidal", "estrella"),
    PersonRow("Sergio", "Ordóñez Blanco", "ordonez"),
    PersonRow("Marta", "Gil Serrano", "vinaverde"),
    PersonRow("Raúl", "Molina Cano", "vinaverde"),
    PersonRow("Elena", "Vázquez Prieto", "galaica"),
    PersonRow("Álvaro", "Domínguez Rubio", "espiga"),
    PersonRow("Cristina", "Moreno Pascual", "miramar"),
    PersonRow("Jorge", "Ramos Medina", "miramar"),
    PersonRow("Sofía", "Herrero Campos", "vision"),
    PersonRow("David", "Núñez Carrasco", "nunez"),
    PersonRow("Laura", "Peña Fuentes", "mancha"),
    PersonRow("Miguel Ángel", "Cortés León", "mancha"),
    PersonRow("Rocío", "Marín Santos", "estrella"),
    PersonRow("Fernando", "Iglesias Garrido", "cantabricas"),
    PersonRow("Patricia", "Guerrero Lozano", "sonrisa"),
    PersonRow("Andrés", "Cabrera Montero", "villanueva"),
    PersonRow("Silvia", "Méndez Calvo", "quijote"),
    PersonRow("Alberto", "Nieto Aguilar", "ebro"),
    PersonRow("Montserrat", "Puig Ferrer", "munoz"),
    PersonRow("Xabier", "Etxeberria Goñi", "norte"),
    PersonRow("Inmaculada", "Sáez Bravo", "ibanez"),
    PersonRow("Antonio", "Peñalver Ruiz", "pena"),
    PersonRow("Irene", "Lorenzo Crespo", "ignacio"),
    PersonRow("Rubén", "Hidalgo Vega", "cantabricas"),
    PersonRow("Noelia", "Pastor Soler", "sol"),
    PersonRow("Óscar", "Benítez Caballero", "ordonez"),
    PersonRow("Teresa", "Santana Déniz", "particular-lp"),
    PersonRow("Gonzalo", "Rey Paredes", "vision"),
    PersonRow("Verónica", "Luna Bermúdez", "particular-md"),
    PersonRow("Héctor", "Quiroga Sanz", "espiga"),
    PersonRow("Carlos", "Peña Ibarra", "quijote"),
)
LEADS: Final = 4

SECOND_ADDRESS_LABELS: Final = ("Entrega", "Almacén", "Oficina central", "Sucursal")
OWNERS: Final = ("lucia.martin", "pablo.soto", "admin")

PROJECTS: Final = (
    "Renovación del parque informático",
    "Implantación del CRM",
    "Migración a la nube",
    "Reforma de oficinas (2ª planta)",
    "Plan de formación anual",
    "Certificación ISO 27001",
    "Apertura de nueva tienda",
    "Digitalización del archivo",
    "Red wifi para clientes",
    "Plan de prevención de riesgos",
)
PROJECT_ROLES: Final = (
    "Responsable",
    "Patrocinador",
    "Usuario clave",
    "Técnico",
    "Aprobador",
    "Consultado",
)


class CampaignRow(NamedTuple):
    name: str
    type: str
    description: str


CAMPAIGNS: Final = (
    CampaignRow("Boletín trimestral de primavera", "Boletín", "Novedades del catálogo."),
    CampaignRow("Feria Expofimer Madrid", "Feria", "Stand 4C12, pabellón 8."),
    CampaignRow("Webinar: facturación electrónica", "Webinar", "Ley Crea y Crece."),
    CampaignRow("Promoción vuelta a la oficina", "Email", "10 % en mobiliario."),
    CampaignRow("Encuesta de satisfacción", "Telemarketing", "Llamadas a clientes activos."),
    CampaignRow("Black Friday de equipamiento", "Email", "Ofertas en portátiles y monitores."),
)

CONTRACT_KINDS: Final = (
    ("Mantenimiento anual de equipos", "Mantenimiento"),
    ("Soporte técnico integral", "Soporte"),
    ("Licencias de software de gestión", "Licencias"),
    ("Servicios gestionados de red", "Servicios gestionados"),
    ("Póliza de reparación in situ", "Mantenimiento"),
    ("Alojamiento y copias de seguridad", "Servicios gestionados"),
)
SLA_LEVELS: Final = ("Básico 8x5", "Estándar 12x5", "Premium 24x7")

EVENT_TITLES: Final = {
    "call": ("Llamada de seguimiento", "Llamada para confirmar la entrega", "Llamada: renovación"),
    "meeting": ("Reunión de revisión trimestral", "Demostración del producto", "Visita técnica"),
    "task": ("Preparar presupuesto", "Revisar incidencia abierta", "Enviar documentación"),
    "reminder": ("Renovar póliza", "Felicitar por el aniversario", "Reclamar firma del contrato"),
}
EVENT_PLACES: Final = ("Oficinas del cliente", "Videollamada", "Nuestra oficina", "Teléfono")

OPPORTUNITY_TOPICS: Final = (
    "Renovación de portátiles",
    "Ampliación de la póliza de soporte",
    "Mobiliario para nueva sede",
    "Formación del equipo",
    "Auditoría de seguridad",
    "Suministro anual de consumibles",
)
# vtiger's default probability for each stage.
STAGE_PROBABILITY: Final = {
    "prospecting": 10,
    "qualification": 20,
    "needs_analysis": 25,
    "value_proposition": 30,
    "decision_makers": 40,
    "perception_analysis": 50,
    "proposal": 65,
    "negotiation": 80,
    "closed_won": 100,
    "closed_lost": 0,
}

COMMENTS: Final = (
    "Prefiere que le llamemos por la mañana, antes de las 11:00.",
    "Pide el número de pedido *siempre* en el concepto de la factura.",
    "El último pedido llegó con una caja dañada; abrimos incidencia con el transportista.",
    "Interesado en ampliar la póliza a 24x7 el año que viene.",
    "Contacto alternativo: recepción, extensión 204.",
    "Paga a 60 días; revisar el límite de crédito antes del próximo pedido.",
    "Quiere los presupuestos en PDF, no en el cuerpo del correo.",
    "Nos ha recomendado a otra empresa del polígono.",
    "Cambia la dirección de entrega a partir de enero.",
    "Ha pedido un descuento por volumen (10 %) en consumibles.",
    "Reunión muy positiva: quieren una demo para todo el equipo.",
    "Su usuario del portal es mj_ibanez_2024 (con guiones bajos).",
    "Vacaciones del 1 al 15 de agosto; dejar pedidos preparados antes.",
)

CASES: Final = (
    ("El portátil no arranca tras la actualización", "Hardware"),
    ("Error al imprimir en la impresora de red", "Hardware"),
    ("Factura duplicada en el mes anterior", "Facturación"),
    ("Pedido incompleto: faltan dos monitores", "Entrega"),
    ("No recibe los correos del portal", "Software"),
    ("Solicitud de ampliación de garantía", "Garantía"),
    ("La VPN se desconecta cada pocos minutos", "Red"),
    ("Pantalla con píxeles muertos", "Garantía"),
    ("Retraso en la entrega del mobiliario", "Entrega"),
    ("Actualización de licencias caducadas", "Software"),
    ("Cobro indebido en la cuota mensual", "Facturación"),
)


class DocumentTopic(NamedTuple):
    title: str
    sku_prefixes: tuple[str, ...]
    vendor_prefixes: tuple[str, ...] = ()  # who sells it, for purchase orders


PURCHASE_TOPICS: Final = (
    DocumentTopic(
        "Reposición de material de oficina",
        ("OFI-",),
        ("Papelería Castellana", "Suministros Ibéricos", "Suministros Levante"),
    ),
    DocumentTopic(
        "Portátiles para el equipo comercial",
        ("INF-PORT", "INF-RAT", "INF-TEC"),
        ("Informática Mediterránea", "Electrónica Bética"),
    ),
    DocumentTopic(
        "Consumibles de impresión",
        ("INF-TON", "OFI-PAP"),
        ("Papelería Castellana", "Informática Mediterránea", "Suministros Levante"),
    ),
    DocumentTopic(
        "Mobiliario para la nueva sala",
        ("MOB-",),
        ("Mobiliario de Oficina Ortega", "Suministros Ibéricos"),
    ),
    DocumentTopic(
        "Material de seguridad y botiquines",
        ("SEG-",),
        ("Ferretería Hermanos Ruiz", "Suministros Industriales del Norte"),
    ),
    DocumentTopic(
        "Equipamiento de red",
        ("INF-SW", "INF-NAS", "INF-DISCO", "INF-SAI"),
        ("Redes y Sistemas Navarra", "Informática Mediterránea", "Electrónica Bética"),
    ),
    DocumentTopic(
        "Café y agua para la oficina",
        ("ALI-",),
        ("Café y Vending Aragón", "Distribuciones Gallegas"),
    ),
    DocumentTopic(
        "Monitores y bases de conexión",
        ("INF-MON", "INF-DOCK"),
        ("Informática Mediterránea", "Electrónica Bética"),
    ),
    DocumentTopic(
        "Envíos urgentes a delegaciones",
        ("SRV-TRANS", "COR-"),
        ("Transportes Añón", "Logística Peñalara"),
    ),
    DocumentTopic(
        "Limpieza y botiquines de las naves",
        ("SEG-BOTIQUIN", "ALI-AGUA"),
        ("Limpiezas Cántabras",),
    ),
)
QUOTE_TOPICS: Final = (
    DocumentTopic("Renovación de equipos informáticos", ("INF-PORT", "INF-MON", "SRV-INST")),
    DocumentTopic("Póliza de soporte y mantenimiento", ("SRV-SOP", "SRV-MANT")),
    DocumentTopic("Formación y documentación", ("SRV-FORM", "LIB-")),
    DocumentTopic("Auditoría y consultoría", ("SRV-AUD", "SRV-CONS")),
    DocumentTopic("Equipamiento de oficina completo", ("MOB-", "OFI-")),
)
SALES_TOPICS: Final = (
    DocumentTopic("Pedido de portátiles y periféricos", ("INF-PORT", "INF-TEC", "INF-RAT")),
    DocumentTopic("Suministro de consumibles", ("INF-TON", "OFI-")),
    DocumentTopic("Instalación de red y soporte", ("INF-SW", "SRV-INST", "SRV-SOP")),
    DocumentTopic("Servicio de catering para evento", ("SRV-CATER", "ALI-")),
    DocumentTopic("Migración y alojamiento web", ("SRV-MIGR", "SRV-WEB")),
)
TERMS: Final = (
    "Pago a 30 días fecha factura. Entrega en 5 días laborables.",
    "Pago por transferencia a 60 días. Portes incluidos.",
    "Precios válidos durante 30 días. IVA desglosado.",
    "",
)

INBOUND_SUBJECTS: Final = (
    "Consulta sobre el último pedido",
    "Solicitud de presupuesto",
    "Incidencia con la impresora",
    "Cambio de datos de facturación",
    "Confirmación de la reunión",
    "Duda sobre la póliza de soporte",
)
OUTBOUND_SUBJECTS: Final = (
    "Presupuesto solicitado",
    "Confirmación de su pedido",
    "Documentación de la póliza",
    "Resumen de la reunión",
    "Catálogo de productos 2025",
)
STAFF_ADDRESS: Final = f"ventas@{MAIL_DOMAIN}"
DROPBOX_ADDRESS: Final = f"crm@{MAIL_DOMAIN}"

FILE_KINDS: Final = (
    ("Contrato de mantenimiento {year}.pdf", "application/pdf"),
    ("Factura F-{year}-{n:04d}.pdf", "application/pdf"),
    ("presupuesto_final_v{n}.pdf", "application/pdf"),
    ("Notas de la reunión {date}.txt", "text/plain"),
    ("inventario_equipos.csv", "text/csv"),
    ("Acta de entrega.pdf", "application/pdf"),
)
SHARED_FILE_NAME: Final = "Catálogo de productos 2025.pdf"
